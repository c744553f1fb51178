/**
 * Ground truth (synthetic data only): a probe node on every model the paper's questions train
 * (Q1's snapshots, Q2's D_mix models, Table 1's models), on f_A, and on a model trained on D_NR
 * alone; a quality node on each built D_R / D_NR; and the ground-truth report over all of them.
 * It takes the models the Q1-Q3 builders return (and D_R's and D_NR's build nodes from the data
 * builder), so those builders stay unaware of it. On CIFAR-10 no probe exists and the report says why.
 */
import type { NodeRef } from '../engine/core/project.ts';
import type { ProfileInfo } from '../report/profile.ts';
import { datasetQuality } from '../stages/dataset-quality.ts';
import { groundTruth, type GroundTruthParams } from '../stages/ground-truth.ts';
import { probe, type ProbeParams } from '../stages/probe.ts';
import { train } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import { addEvaluation, modelConfig, trainParams, type DataNodes } from './data.ts';
import { nodeId } from './naming.ts';
import { trainSettingsFor, type Profile } from './profile.ts';
import type { Q1Models } from './q1.ts';
import type { Q2Models } from './q2.ts';
import type { Q3Models } from './q3.ts';

type Probes = GroundTruthParams['probes'];

export const CIFAR_NO_TRUTH =
  'Not measurable on CIFAR-10: which pixels are its robust and non-robust features is unknown, so feature use can only be inferred from attack success rates, as the paper does. Run a synthetic profile (e.g. `demo`) for the ground truth.';

/** What the questions' builders added that the ground truth probes. */
export interface QuestionModels {
  readonly q1: Q1Models;
  readonly q2: Q2Models;
  readonly q3: Q3Models;
}

const variantOf = (id: string) => id.slice(id.indexOf('@') + 1);

export function addTruth(b: GraphBuilder, p: Profile, data: DataNodes, info: ProfileInfo, models: QuestionModels): void {
  if (!data.synthetic) {
    const id = b.add({
      id: 'ground-truth',
      stage: groundTruth,
      params: { profile: info, probes: [], qualities: [], unavailable: CIFAR_NO_TRUTH },
      inputs: { probes: [], qualities: [], evals: [] },
    });
    b.group('truth', [id]);
    return;
  }
  const e = p.evaluation;
  const probeParams: ProbeParams = { subsetSeed: e.subsetSeed, seed: e.seed };
  const probes: Probes = [];
  const probeRefs: NodeRef[] = [];
  const seen = new Set<string>();
  const addProbe = (model: NodeRef, subject: Probes[number]['subject']) => {
    const id = `probe@${variantOf(model.node)}`;
    if (seen.has(id)) return;
    seen.add(id);
    b.add({ id, stage: probe, params: probeParams, paramsSource: 'evaluation', inputs: { model, data: data.test } });
    probes.push({ subject, nodes: [id, model.node] });
    probeRefs.push(ref(id, 'result'));
  };

  // The figures' evaluations of the probed models: the paper's evidence beside the probes'.
  const attacks: NonNullable<GroundTruthParams['attacks']> = [];
  const evalRefs: NodeRef[] = [];
  const seenEval = new Set<string>();
  const addAttack = (node: string, attack: string, subject: NonNullable<GroundTruthParams['attacks']>[number]['subject']) => {
    if (seenEval.has(node)) return;
    seenEval.add(node);
    attacks.push({ subject, attack, node });
    evalRefs.push(ref(node, 'result'));
  };
  // Q1: every snapshot of Figures 1 and 2.
  for (const e of models.q1.evaluations) {
    addProbe(e.model, { kind: 'q1', step: e.step });
    addAttack(e.evalNode, e.attack, { kind: 'q1', step: e.step });
  }
  // Q2: every D_mix(alpha) model of Figure 3.
  for (const e of models.q2.evaluations) {
    addProbe(e.model, { kind: 'q2', model: e.name, alpha: e.alpha });
    addAttack(e.evalNode, e.attack, { kind: 'q2', model: e.name, alpha: e.alpha });
  }
  // Q3: every model of Table 1.
  for (const r of models.q3.runs) {
    addProbe(r.model, { kind: 'q3', family: r.family, backbone: r.backbone, lr: r.lr, dataset: r.dataset, augmentation: r.augmentation });
  }

  // A quality report reads only who built the set and the profile's name and description: the
  // run's overrides (in `info.asRun`) must not rerun it when, say, q2.alphas changes.
  const qualityInfo: ProfileInfo = { name: info.name, synthetic: info.synthetic, ...(info.description ? { description: info.description } : {}) };
  const qualities: GroundTruthParams['qualities'] = [];
  const qualityRefs: NodeRef[] = [];
  const reportsUsingDr = ['fig3', 'table1', 'table2', 'table3', 'table4'].filter((g) => b.groups[g]);
  const robustBuild = data.robustBuild();
  if (robustBuild) {
    const { fA, dr } = robustBuild;
    const id = b.add({
      id: 'dataset-quality@dr',
      stage: datasetQuality,
      params: { construction: 'D_R', profile: qualityInfo, builtBy: dr },
      inputs: { dataset: ref(dr, 'dataset'), base: data.train, distances: ref(dr, 'distances') },
    });
    qualities.push({ node: id });
    qualityRefs.push(ref(id, 'result'));
    // Printed by `repro dr` and beside every report that trains on D_R.
    for (const g of ['dr', ...reportsUsingDr]) b.group(g, [id]);
    addProbe(ref(fA, 'model'), { kind: 'fA' });
    // Beyond the paper: f_A under the L2 attacks Figure 3 uses, the robust baseline of the brittleness check.
    for (const attack of (p.q2.attacks['default'] ?? []).filter((a) => a.startsWith('l2-'))) {
      addAttack(addEvaluation(b, p, data, b.naming.fA, ref(fA, 'model'), attack), attack, { kind: 'fA' });
    }
  }
  const nr = p.robust.nonRobust;
  for (const { variant, node: built } of data.nonRobust) {
    if (!nr) continue;
    const id = b.add({
      id: nodeId('dataset-quality', b.naming.dnr(variant)),
      stage: datasetQuality,
      paramsSource: 'robust.nonRobust',
      params: {
        construction: variant === 'det' ? 'D_det' : 'D_rand',
        profile: qualityInfo,
        builtBy: built,
        seed: nr.seed,
        ...(nr.count ? { count: nr.count } : {}),
      },
      inputs: { dataset: ref(built, 'dataset'), base: data.train },
    });
    qualities.push({ node: id });
    qualityRefs.push(ref(id, 'result'));
    b.group('dnr', [id]);
    // Beyond the paper: a standard model trained on D_det (D_rand) alone, for as many updates as a D run.
    const resnet18 = p.q2.models.find((m) => m.name === 'ResNet-18');
    // Trained as Q2's ResNet-18 is, its own train settings included.
    const q = { ...p.q2, train: trainSettingsFor(p.q2.train, resnet18?.train) };
    const count = Math.min(nr.count ?? data.trainCount, data.trainCount);
    const entry = resnet18?.model ?? p.robust.model;
    const trained = b.add({
      id: nodeId('train', b.naming.dnr(variant)),
      stage: train,
      paramsSource: 'q2.train',
      params: trainParams(
        {
          ...q.train,
          epochs: (q.train.epochs * data.trainCount) / count,
          lr: scaledSchedule(q.train.lr, data.trainCount / count, { count, batchSize: q.train.batchSize, epochs: (q.train.epochs * data.trainCount) / count }),
        },
        modelConfig(entry, data),
        { augment: q.augment },
      ),
      inputs: { data: ref(built, 'dataset') },
    });
    addProbe(ref(trained, 'model'), { kind: 'dnr', variant });
  }

  const id = b.add({
    id: 'ground-truth',
    stage: groundTruth,
    params: { profile: info, probes, qualities, attacks },
    inputs: { probes: probeRefs, qualities: qualityRefs, evals: evalRefs },
  });
  b.group('truth', [id, ...qualityRefs.map((r) => r.node)]);
}

/**
 * An epoch-based schedule for a run over a set `scale` times smaller than D that makes as many
 * updates as a D run: the decays come after the same share of the updates. `milestones` count
 * updates, so they stay; `every-epochs` periods grow by `scale`, as milestones when that is not a
 * whole number of epochs.
 */
export function scaledSchedule(
  lr: Profile['q2']['train']['lr'],
  scale: number,
  run: { readonly count: number; readonly batchSize: number; readonly epochs: number },
): Profile['q2']['train']['lr'] {
  if (lr.kind !== 'every-epochs' || scale === 1) return lr;
  const every = lr.everyEpochs * scale;
  if (Number.isInteger(every)) return { ...lr, everyEpochs: every };
  const perEpoch = Math.ceil(run.count / run.batchSize);
  const milestones: number[] = [];
  for (let k = 1; k * every < run.epochs; k++) {
    const step = Math.round(k * every * perEpoch);
    if (step > (milestones.at(-1) ?? 0)) milestones.push(step);
  }
  return { kind: 'milestones', lr: lr.lr, milestones, factor: lr.factor };
}
