/**
 * Question 1 (Figures 1 and 2): one model trained with snapshots; every snapshot evaluated under
 * Figure 1's spatial attacks and Figure 2's L-inf PGD attacks.
 */
import type { NodeRef } from '../engine/core/project.ts';
import { UserError } from '../engine/core/result.ts';
import { nodeId } from './naming.ts';
import { snapshotSteps } from '../ml/train/schedule.ts';
import { figure } from '../stages/figure.ts';
import { snapshot } from '../stages/snapshot.ts';
import { train } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import { addEvaluation, modelConfig, trainParams, type DataNodes } from './data.ts';
import type { Profile } from './profile.ts';
import type { ProfileInfo } from '../report/profile.ts';

/** Each snapshot is a model file and a node per attack: more than this is a typo, not a plan (and would not fit in memory). */
const MAX_SNAPSHOTS = 10_000;

/** One evaluation of a Q1 snapshot (Figure 1's, then Figure 2's, in the figures' order). */
export interface Q1Evaluation {
  readonly step: number;
  readonly attack: string;
  readonly evalNode: string;
  /** The snapshot's weights. */
  readonly model: NodeRef;
}

/** The models Q1 adds: its snapshots, through the evaluations of each. */
export interface Q1Models {
  readonly evaluations: readonly Q1Evaluation[];
}

export function addQ1(b: GraphBuilder, p: Profile, data: DataNodes, info: ProfileInfo): Q1Models {
  const q = p.q1;
  if (!Number.isInteger(q.train.epochs)) throw new UserError(`params.yaml q1.train.epochs: snapshots need a whole number of epochs, got ${q.train.epochs}`);
  const perEpoch = Math.ceil(data.trainCount / q.train.batchSize);
  const s = q.snapshots;
  const planned = Math.floor(Math.min(perEpoch * q.train.epochs, s.denseEpochs * perEpoch) / s.denseEvery) + Math.floor(q.train.epochs / s.sparseEveryEpochs);
  if (planned > MAX_SNAPSHOTS) {
    throw new UserError(
      `params.yaml q1.train.epochs: ${q.train.epochs} epochs would take ${planned} snapshots with q1.snapshots ${JSON.stringify(s)}; at most ${MAX_SNAPSHOTS} are supported`,
    );
  }
  const steps = snapshotSteps(perEpoch, q.train.epochs, q.snapshots);
  const run = b.naming.q1Run(q.model.arch);
  const trained = b.add({
    id: nodeId('train', run),
    stage: train,
    paramsSource: 'q1',
    params: trainParams(q.train, modelConfig(q.model, data), { augment: q.augment, snapshotSteps: steps }),
    inputs: { data: data.train },
  });
  const points: { fig1: Record<string, unknown>[]; fig2: Record<string, unknown>[] } = { fig1: [], fig2: [] };
  const evals: { fig1: string[]; fig2: string[] } = { fig1: [], fig2: [] };
  const evaluated: { fig1: Q1Evaluation[]; fig2: Q1Evaluation[] } = { fig1: [], fig2: [] };
  for (const step of steps) {
    const snap = b.add({
      id: nodeId('snapshot', b.naming.snapshot(run, step)),
      stage: snapshot,
      params: { step },
      inputs: { snapshots: ref(trained, 'snapshots') },
    });
    for (const fig of ['fig1', 'fig2'] as const) {
      for (const attack of q[fig]) {
        const ev = addEvaluation(b, p, data, b.naming.snapshot(run, step), ref(snap, 'model'), attack);
        points[fig].push({ step, attack, evalNode: ev, trainNode: trained });
        evals[fig].push(ev);
        evaluated[fig].push({ step, attack, evalNode: ev, model: ref(snap, 'model') });
      }
    }
  }
  for (const fig of ['fig1', 'fig2'] as const) {
    const id = b.add({
      id: `figure@${fig}`,
      stage: figure,
      paramsSource: `q1.${fig}`,
      params: { figure: fig, profile: info, attacks: q[fig], points: points[fig] },
      inputs: { evals: evals[fig].map((e) => ref(e, 'result')), trainSet: data.train, testSet: data.test },
    });
    b.group(fig, [id]);
  }
  return { evaluations: [...evaluated.fig1, ...evaluated.fig2] };
}
