/**
 * The data half of every experiment: D (synthetic or CIFAR-10), D_R (built through an
 * adversarially trained f_A, or fetched), and optionally D_NR; plus the shared evaluation node.
 */
import type { NodeRef } from '../engine/core/project.ts';
import { UserError } from '../engine/core/result.ts';
import { nodeId } from './naming.ts';
import type { AttackPresetName } from '../ml/attacks/config.ts';
import { SYNTHETIC_DEFAULTS } from '../ml/data/synthetic.ts';
import { buildDnr } from '../stages/build-dnr.ts';
import { buildDr } from '../stages/build-dr.ts';
import { evaluate, type EvaluateParams } from '../stages/evaluate.ts';
import { fetchCifar10 } from '../stages/fetch-cifar10.ts';
import { fetchRobustDatasets } from '../stages/fetch-robust-datasets.ts';
import { subsetDataset } from '../stages/subset-dataset.ts';
import { describeModel } from '../ml/models/cost.ts';
import { chooseRobustSource } from './robust-source.ts';
import { syntheticDataset } from '../stages/synthetic-dataset.ts';
import { train, type TrainParams } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import type { ModelEntry, Profile, TrainSettings } from './profile.ts';

export interface DataNodes {
  readonly train: NodeRef;
  readonly test: NodeRef;
  readonly numClasses: number;
  readonly inputSize: number;
  /** |D|, which fixes the steps per epoch of every run (an epoch of D_mix is |D| images too). */
  readonly trainCount: number;
  /** Images of the test set (before an evaluation's own `count` subset). */
  readonly testCount: number;
  readonly synthetic: boolean;
  /** D_R; adding it adds f_A's training (build) or the download (fetch). */
  robust(): NodeRef;
  /** The nodes that built D_R (f_A's training and the inversion), once `robust()` built it here. */
  robustBuild(): { readonly fA: string; readonly dr: string } | undefined;
  /** The build node of each D_NR variant the profile asks for (robust.nonRobust). */
  readonly nonRobust: readonly { readonly variant: 'det' | 'rand'; readonly node: string }[];
  /** Lines for the reports: the data actually used (subsets, partial copies, where D_R came from). */
  readonly notes: string[];
}

export const CIFAR10_TRAIN_COUNT = 50_000;
export const CIFAR10_TEST_COUNT = 10_000;
const CIFAR10_CLASSES = 10;

export function modelConfig(entry: ModelEntry, data: Pick<DataNodes, 'numClasses' | 'inputSize'>): TrainParams['model'] {
  return { numClasses: data.numClasses, inputSize: data.inputSize, ...entry } as TrainParams['model'];
}

export function trainParams(
  settings: TrainSettings,
  model: TrainParams['model'],
  extra: Pick<TrainParams, 'augment'> & Partial<Pick<TrainParams, 'alpha' | 'adversarial' | 'snapshotSteps'>> & { lr?: number },
): TrainParams {
  const { lr, ...rest } = extra;
  return {
    model,
    seed: settings.seed,
    batchSize: settings.batchSize,
    epochs: settings.epochs,
    lr: lr === undefined ? settings.lr : { ...settings.lr, lr },
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
    checkpointEvery: settings.checkpointEvery,
    ...rest,
  };
}

/** `root`: the project folder, where `robust.source: auto` looks for a local datasets.tar. */
export function addData(b: GraphBuilder, p: Profile, root: string): DataNodes {
  let trainRef: NodeRef;
  let testRef: NodeRef;
  let trainCount: number;
  let testCount: number;
  let inputSize = 32;
  const synthetic = p.data.synthetic;
  if (p.data.source === 'synthetic' && synthetic) {
    const id = b.add({ id: 'synthetic-dataset', stage: syntheticDataset, params: synthetic, paramsSource: 'data.synthetic' });
    trainRef = ref(id, 'train');
    testRef = ref(id, 'test');
    trainCount = synthetic.trainCount;
    testCount = synthetic.testCount;
    inputSize = synthetic.size;
  } else {
    const params = { source: p.data.cifar10, ...(p.data.partial ? { partial: true } : {}) };
    const id = b.add({ id: 'fetch-cifar10', stage: fetchCifar10, params, paramsSource: 'data' });
    trainRef = ref(id, 'train');
    testRef = ref(id, 'test');
    trainCount = CIFAR10_TRAIN_COUNT;
    testCount = CIFAR10_TEST_COUNT;
  }
  const notes: string[] = [];
  const dataName = p.data.source === 'synthetic' ? 'synthetic' : 'CIFAR-10';
  // Seeded class-balanced subsets: their count and seed are parameters, so part of every key downstream.
  const subset = (from: NodeRef, split: string, count: number | undefined, full: number, option: string): [NodeRef, number] => {
    if (count === undefined) return [from, full];
    if (p.data.source === 'synthetic' && count > full)
      throw new UserError(`params.yaml ${option}: ${count} images asked of the ${full} the synthetic ${split} set has`);
    if (p.data.source === 'cifar10' && count > full) throw new UserError(`params.yaml ${option}: ${count} images asked of CIFAR-10's ${full} ${split} images`);
    const id = b.add({
      id: `subset-dataset@${split}`,
      stage: subsetDataset,
      params: { count, seed: p.data.subsetSeed, option },
      paramsSource: option,
      inputs: { data: from },
    });
    notes.push(`${split}: a seeded class-balanced subset of ${count} of the ${full} ${dataName} ${split} images (${option}).`);
    return [ref(id, 'dataset'), count];
  };
  [trainRef, trainCount] = subset(trainRef, 'train', p.data.trainCount, trainCount, 'data.trainCount');
  [testRef, testCount] = subset(testRef, 'test', p.data.testCount, testCount, 'data.testCount');
  if (p.data.partial) notes.push('A partial local CIFAR-10 copy is accepted (data.partial); the image counts below are what was read.');
  checkCounts(p, trainCount, testCount);
  const numClasses = p.data.source === 'synthetic' ? SYNTHETIC_DEFAULTS.numClasses : CIFAR10_CLASSES;
  const data = { train: trainRef, test: testRef, numClasses, inputSize, trainCount, testCount, synthetic: p.data.source === 'synthetic', notes };

  // Decided now (not when D_R is first needed) so that every report node carries the note.
  const r = p.robust;
  const choice =
    r.source === 'auto'
      ? p.data.source === 'cifar10'
        ? chooseRobustSource(r.fetch, root)
        : { source: 'build' as const, why: 'D_R built locally (the published D_R is CIFAR-10 and this profile trains on synthetic data)' }
      : {
          source: r.source,
          from: r.fetch ?? undefined,
          why: r.source === 'fetch' ? "Ilyas et al.'s published D_R (robust.source: fetch)" : 'D_R built locally (robust.source: build)',
        };
  const subsetNote = r.count !== undefined ? `, a class-balanced subset of ${r.count} images (robust.count)` : '';
  notes.push(
    choice.source === 'fetch'
      ? `D_R: ${choice.why}${subsetNote}.`
      : `D_R: ${choice.why}: f_A = ${describeModel(modelConfig(r.model, data))}, ${r.train.epochs} epochs of L2-PGD training (eps ${r.adversarial.eps}, ${r.adversarial.iterations} steps), ` +
          `${r.build.steps} inversion steps${r.build.count !== undefined ? ` on ${r.build.count} images` : ''}${subsetNote}.`,
  );
  let robustRef: NodeRef | undefined;
  let built: { fA: string; dr: string } | undefined;
  const buildRobust = (): NodeRef => {
    const robustCount = (from: NodeRef, full: number | undefined): NodeRef => {
      if (r.count === undefined) return from;
      if (full !== undefined && r.count > full) throw new UserError(`params.yaml robust.count: ${r.count} images asked of a D_R of ${full}`);
      const id = b.add({
        id: 'subset-dataset@robust',
        stage: subsetDataset,
        params: { count: r.count, seed: p.data.subsetSeed, option: 'robust.count' },
        paramsSource: 'robust.count',
        inputs: { data: from },
      });
      return ref(id, 'dataset');
    };
    if (choice.source === 'fetch') {
      if (p.data.source !== 'cifar10') throw new UserError("params.yaml robust.source: 'fetch' gives CIFAR-10's D_R, which only fits data.source 'cifar10'");
      const id = b.add({ id: 'fetch-robust-datasets', stage: fetchRobustDatasets, params: { source: choice.from ?? null }, paramsSource: 'robust.fetch' });
      return robustCount(ref(id, 'robust'), CIFAR10_TRAIN_COUNT);
    }
    const fA = b.add({
      id: nodeId('train', b.naming.fA),
      stage: train,
      paramsSource: 'robust',
      params: trainParams(r.train, modelConfig(r.model, data), { augment: r.augment, adversarial: r.adversarial }),
      inputs: { data: trainRef },
    });
    const dr = b.add({
      id: 'build-dr',
      stage: buildDr,
      paramsSource: 'robust.build',
      params: r.build,
      inputs: { model: ref(fA, 'model'), data: trainRef },
    });
    b.group('dr', [dr]);
    built = { fA, dr };
    return robustCount(ref(dr, 'dataset'), r.build.count ?? trainCount);
  };

  const robust = (): NodeRef => (robustRef ??= buildRobust());

  const nonRobust: { variant: 'det' | 'rand'; node: string }[] = [];
  if (p.robust.nonRobust) {
    const nr = p.robust.nonRobust;
    // D_NR's source is a standard model: f_A's architecture trained as the paper's standard models
    // are (q2.train, q2.augment), not with f_A's schedule and augmentation, which the demo tunes for
    // adversarial training (lr 0.1, no flips): trained that way on the demo world it left the faint
    // non-robust feature unused (85 % training accuracy), so its targeted attacks planted nothing.
    const std = b.add({
      id: 'train@standard',
      stage: train,
      paramsSource: 'q2.train',
      params: trainParams(p.q2.train, modelConfig(p.robust.model, data), { augment: p.q2.augment }),
      inputs: { data: trainRef },
    });
    const ids = nr.variants.map((variant) =>
      b.add({
        id: nodeId('build-dnr', b.naming.dnr(variant)),
        stage: buildDnr,
        paramsSource: 'robust.nonRobust',
        params: { variant, eps: nr.eps, step: nr.step, iterations: nr.iterations, seed: nr.seed, ...(nr.count ? { count: nr.count } : {}) },
        inputs: { model: ref(std, 'model'), data: trainRef },
      }),
    );
    b.group('dnr', ids);
    nr.variants.forEach((variant, i) => nonRobust.push({ variant, node: ids[i]! }));
  }
  return { ...data, robust, robustBuild: () => built, nonRobust };
}

/**
 * An integer with commas every three digits, as toLocaleString('en-US') writes it, without its
 * cost: the first toLocaleString of a process loads ICU's number formats (15-50 ms here), which
 * every command that builds the graph paid.
 */
export function withThousands(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`withThousands: ${n} is not an integer`);
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}

/**
 * What a report's header states beside the profile's (static) description: the number of test
 * images each evaluation used, and the `--set` overrides, which the description does not know of.
 */
export function describeRun(p: Profile, overrides: readonly string[]): string {
  const testCount = p.data.source === 'synthetic' && p.data.synthetic ? p.data.synthetic.testCount : CIFAR10_TEST_COUNT;
  const count = p.evaluation.count ?? testCount;
  const parts = [`${withThousands(count)} test images per evaluation${count < testCount ? ` (a seeded subset of ${withThousands(testCount)})` : ''}`];
  if (overrides.length > 0) parts.push(overrides.map((o) => `--set ${o}`).join(', '));
  return parts.join('; ');
}

/**
 * Counts that must fit the data they subset, checked when the graph is built: the stages check
 * them again, but only once they run, after hours of upstream training.
 */
function checkCounts(p: Profile, trainCount: number, testCount: number): void {
  const d =
    p.data.source === 'synthetic'
      ? `data.synthetic (${trainCount} training, ${testCount} test images)`
      : `CIFAR-10 (${trainCount} training, ${testCount} test images)`;
  const checks: [string, number | undefined, number, string][] = [
    ['evaluation.count', p.evaluation.count, testCount, 'test images'],
    ['robust.build.count', p.robust.source === 'build' ? p.robust.build.count : undefined, trainCount, 'training images (|D|)'],
    ['robust.nonRobust.count', p.robust.nonRobust?.count, trainCount, 'training images (|D|)'],
  ];
  for (const [path, count, limit, what] of checks) {
    if (count !== undefined && count > limit) throw new UserError(`params.yaml ${path}: ${count} exceeds the ${limit} ${what} of ${d}`);
  }
}

/** An evaluation node `evaluate@<run>-<attack>` of a model under a named attack on the test set (`run` as the naming gives it). */
export function addEvaluation(b: GraphBuilder, p: Profile, data: DataNodes, run: string, model: NodeRef, attack: string): string {
  const e = p.evaluation;
  const params: EvaluateParams = {
    attack: attack as AttackPresetName,
    subsetSeed: e.subsetSeed,
    seed: e.seed,
    batchSize: e.batchSize,
    ...(e.count !== undefined ? { count: e.count } : {}),
  };
  return b.add({
    id: nodeId('evaluate', b.naming.evaluation(run, attack)),
    stage: evaluate,
    params,
    paramsSource: 'evaluation',
    inputs: { model, data: data.test },
  });
}
