/**
 * Question 2 (Figure 3): each model trained on D_mix(alpha) for every alpha, evaluated under its
 * attacks. Adding an alpha to params.yaml adds one branch per model and redraws the figure.
 */
import type { NodeRef } from '../engine/core/project.ts';
import { UserError } from '../engine/core/result.ts';
import { nodeId } from './naming.ts';
import { figure } from '../stages/figure.ts';
import { train } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import { addEvaluation, modelConfig, trainParams, type DataNodes } from './data.ts';
import { trainSettingsFor, type Profile } from './profile.ts';
import type { ProfileInfo } from '../report/profile.ts';

/** One evaluation of a Q2 model (in Figure 3's order). */
export interface Q2Evaluation {
  /** The model's paper name (q2.models[].name). */
  readonly name: string;
  readonly alpha: number;
  readonly attack: string;
  readonly evalNode: string;
  /** The weights trained on D_mix(alpha). */
  readonly model: NodeRef;
}

/** The models Q2 adds, through the evaluations of each. */
export interface Q2Models {
  readonly evaluations: readonly Q2Evaluation[];
}

export function addQ2(b: GraphBuilder, p: Profile, data: DataNodes, info: ProfileInfo): Q2Models {
  const q = p.q2;
  const points: Record<string, unknown>[] = [];
  const evaluated: Q2Evaluation[] = [];
  const evals: string[] = [];
  for (const { name, model: entry, train: own } of q.models) {
    const attacks = q.attacks[name] ?? q.attacks['default'];
    if (!attacks) throw new UserError(`params.yaml q2.attacks: no attacks for model '${name}' and no 'default' list`);
    for (const alpha of q.alphas) {
      const run = b.naming.q2Run(name, alpha);
      const trained = b.add({
        id: nodeId('train', run),
        stage: train,
        paramsSource: `q2.models.${name}`,
        params: trainParams(trainSettingsFor(q.train, own), modelConfig(entry, data), { augment: q.augment, alpha }),
        inputs: alpha > 0 ? { data: data.train, robust: data.robust() } : { data: data.train },
      });
      for (const attack of ['none', ...attacks.filter((a) => a !== 'none')]) {
        const ev = addEvaluation(b, p, data, run, ref(trained, 'model'), attack);
        points.push({ model: name, alpha, attack, evalNode: ev });
        evals.push(ev);
        evaluated.push({ name, alpha, attack, evalNode: ev, model: ref(trained, 'model') });
      }
    }
  }
  const id = b.add({
    id: 'figure@fig3',
    stage: figure,
    paramsSource: 'q2',
    params: { figure: 'fig3', profile: info, points },
    inputs: { evals: evals.map((e) => ref(e, 'result')), trainSet: data.train, testSet: data.test },
  });
  b.group('fig3', [id]);
  return { evaluations: evaluated };
}
