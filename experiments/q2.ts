/**
 * Question 2 (Figure 3): each model trained on D_mix(alpha) for every alpha, evaluated under its
 * attacks. Adding an alpha to params.yaml adds one branch per model and redraws the figure.
 */
import { UserError } from '../engine/core/result.ts';
import { segment } from '../engine/plan/sweep.ts';
import { figure } from '../stages/figure.ts';
import { train } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import { addEvaluation, modelConfig, trainParams, type DataNodes } from './data.ts';
import type { Profile } from './profile.ts';
import type { ProfileInfo } from '../report/profile.ts';

export function addQ2(b: GraphBuilder, p: Profile, data: DataNodes, info: ProfileInfo): void {
  const q = p.q2;
  const points: Record<string, unknown>[] = [];
  const evals: string[] = [];
  for (const { name, model: entry } of q.models) {
    const attacks = q.attacks[name] ?? q.attacks['default'];
    if (!attacks) throw new UserError(`params.yaml q2.attacks: no attacks for model '${name}' and no 'default' list`);
    for (const alpha of q.alphas) {
      const run = `q2-${segment('', name)}-${segment('alpha', alpha)}`;
      const trained = b.add({
        id: `train@${run}`,
        stage: train,
        paramsSource: `q2.models.${name}`,
        params: trainParams(q.train, modelConfig(entry, data), { augment: q.augment, alpha }),
        inputs: alpha > 0 ? { data: data.train, robust: data.robust() } : { data: data.train },
      });
      for (const attack of ['none', ...attacks.filter((a) => a !== 'none')]) {
        const ev = addEvaluation(b, p, data, run, ref(trained, 'model'), attack);
        points.push({ model: name, alpha, attack, evalNode: ev });
        evals.push(ev);
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
}
