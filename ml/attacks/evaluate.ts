import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.ts';
import { imageSize } from '../data/image-set.ts';
import type { Classifier } from '../models/classifier.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { Rng } from '../random.ts';
import type { ApgdAttackConfig, AttackConfig, AutoAttackConfig, GridAttackConfig, PgdAttackConfig, SquareAttackConfig } from './config.ts';
import { autoAttackBatch, type AutoAttackComponent, type AutoAttackOptions } from './autoattack.ts';
import { IDENTITY } from '../transform/rigid.ts';
import { gridMotions } from './grids.ts';
import { summariseAttack, type AttackSummary } from './metrics.ts';
import { pgdBatch } from './pgd.ts';
import { memoSafeBackend, type PredictionMemo } from './prediction-memo.ts';
import { gridAttack } from './spatial.ts';
import { exampleL2Norm, exampleLInfNorm } from './steps.ts';
import { selectSubset } from './subset.ts';

export interface EvaluationOptions {
  /** Examples of `set` to evaluate (default: all; see selectSubset for a seeded subset). */
  readonly indices?: ArrayLike<number>;
  /** Images per model call (default 128). */
  readonly batchSize?: number;
  /** Seeds the random start and random targets (default 0). */
  readonly seed?: number;
  /** Grid attacks: grid points per early-stopping round (see GridAttackOptions). */
  readonly pointsPerRound?: number;
  readonly onProgress?: ProgressSink;
  /**
   * Grid attacks: labels this process computed before for the same model (`scope`: its identity),
   * used and extended where the backend's labels do not depend on the batch (prediction-memo.ts).
   */
  readonly memo?: { readonly memo: PredictionMemo; readonly scope: string };
  /**
   * PGD, APGD, Square and AutoAttack: called per batch with the images the attack broke (right
   * untouched, wrong after), untouched and adversarial (NHWC, flattened), and their predicted
   * classes after the attack; read the arrays synchronously.
   */
  readonly onBroken?: (clean: Float32Array, adversarial: Float32Array, predicted: Int32Array) => void;
}

export interface EvaluationResult extends AttackSummary {
  readonly attack: AttackConfig;
  /** The evaluated examples (indices into the set), and per example whether it was right untouched / after the attack. */
  readonly indices: Int32Array;
  readonly naturalCorrectMask: Uint8Array;
  readonly robustCorrectMask: Uint8Array;
  /** PGD: mean over evaluated examples of ||x_adv - x||_2 and ||x_adv - x||_inf. */
  readonly meanPerturbationL2?: number;
  readonly meanPerturbationLInf?: number;
  /** AutoAttack and its components: per component, the images it broke (each counted once, by the first). */
  readonly brokenBy?: Partial<Record<AutoAttackComponent, number>>;
  /** Grid attacks: (image, grid point) pairs the model evaluated. */
  readonly gridEvaluations?: number;
  /** Grid attacks: of those, the pairs not found in the memo, which the model was run on. */
  readonly gridComputed?: number;
}

/** Hands the broken rows of a batch to `onBroken`. */
async function reportBroken(ctx: Context, x: tf.Tensor4D, adversarial: tf.Tensor4D, natural: ArrayLike<number>, advPred: Int32Array, y: ArrayLike<number>) {
  const onBroken = ctx.options.onBroken;
  if (!onBroken) return;
  const rows = Array.from({ length: advPred.length }, (_, j) => j).filter((j) => natural[j] && advPred[j] !== y[j]);
  if (rows.length === 0) return;
  const idx = tf.tensor1d(rows, 'int32');
  const [clean, adv] = [tf.gather(x, idx), tf.gather(adversarial, idx)];
  onBroken(
    (await clean.data()) as Float32Array,
    (await adv.data()) as Float32Array,
    Int32Array.from(rows, (j) => advPred[j]!),
  );
  tf.dispose([idx, clean, adv]);
}

async function predictions(model: Classifier, x: tf.Tensor4D): Promise<Int32Array> {
  const pred = tf.tidy(() => tf.argMax(model.logits(x, 'eval'), 1));
  const data = (await pred.data()) as Int32Array;
  pred.dispose();
  return data;
}

function batchTensor(set: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(set.gather(indices), [indices.length, set.height, set.width, set.channels]);
}

/**
 * Evaluates `model` on the examples `indices` of `set` untouched and under `attack`: natural and
 * robust accuracy, ASR, per-class figures (docs/method/pgd-and-grids.md#metrics), and the mean perturbation for PGD.
 */
export async function evaluateAttack(model: Classifier, set: ImageSet, attack: AttackConfig, options: EvaluationOptions = {}): Promise<EvaluationResult> {
  if (model.numClasses !== set.numClasses) {
    throw new Error(`evaluateAttack: model has ${model.numClasses} classes, dataset ${set.numClasses}`);
  }
  const indices = Int32Array.from(options.indices ?? selectSubset(set.count));
  for (const i of indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < set.count)) {
      throw new Error(`evaluateAttack: index ${i} is outside the dataset of ${set.count} examples`);
    }
  }
  const batchSize = options.batchSize ?? 128;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`evaluateAttack: bad batchSize ${batchSize}`);
  const labels = Uint8Array.from(indices, (i) => set.labels[i]!);
  const natural = new Uint8Array(indices.length);
  const robust = new Uint8Array(indices.length);
  const ctx: Context = { model, set, indices, labels, natural, robust, batchSize, options };

  let extra: Partial<EvaluationResult> = {};
  switch (attack.kind) {
    case 'none':
      await naturalOnly(ctx);
      break;
    case 'pgd':
      extra = await pgdEvaluation(ctx, attack);
      break;
    case 'grid':
      extra = await gridEvaluation(ctx, attack);
      break;
    case 'apgd':
    case 'square':
    case 'autoattack':
      extra = await autoAttackEvaluation(ctx, attack);
      break;
    default: {
      const never: never = attack;
      throw new Error(`evaluateAttack: unknown attack ${JSON.stringify(never)}`);
    }
  }
  return {
    ...summariseAttack(labels, natural, robust, set.numClasses),
    ...extra,
    attack,
    indices,
    naturalCorrectMask: natural,
    robustCorrectMask: robust,
  };
}

interface Context {
  readonly model: Classifier;
  readonly set: ImageSet;
  readonly indices: Int32Array;
  readonly labels: Uint8Array;
  readonly natural: Uint8Array;
  readonly robust: Uint8Array;
  readonly batchSize: number;
  readonly options: EvaluationOptions;
}

function progress(ctx: Context, done: number, info?: Record<string, number>): void {
  ctx.options.onProgress?.({ done, total: ctx.indices.length, unit: 'images', ...(info ? { info } : {}) });
}

/** The memo, where this backend's labels do not depend on the batch they were computed in. */
function usableMemo(ctx: Context): EvaluationOptions['memo'] {
  const memo = ctx.options.memo !== undefined && memoSafeBackend() ? ctx.options.memo : undefined;
  memo?.memo.enter(memo.scope);
  return memo;
}

/** The model's labels for untouched images; a batch whose labels are all in the memo is not run. */
async function naturalLabels(ctx: Context, idx: Int32Array): Promise<ArrayLike<number>> {
  const memo = usableMemo(ctx);
  if (memo === undefined) {
    const x = batchTensor(ctx.set, idx);
    const pred = await predictions(ctx.model, x);
    x.dispose();
    return pred;
  }
  const pixels = ctx.set.gather(idx);
  const known = memo.memo.view(pixels, idx.length, imageSize(ctx.set), [IDENTITY]);
  const labels = Int32Array.from(idx, (_, k) => known.get(k, 0));
  if (labels.every((l) => l >= 0)) return labels;
  const x = tf.tensor4d(pixels, [idx.length, ctx.set.height, ctx.set.width, ctx.set.channels]);
  const pred = await predictions(ctx.model, x);
  x.dispose();
  pred.forEach((l, k) => known.set(k, 0, l));
  return pred;
}

async function naturalOnly(ctx: Context): Promise<void> {
  for (let s = 0; s < ctx.indices.length; s += ctx.batchSize) {
    const idx = ctx.indices.subarray(s, s + ctx.batchSize);
    const pred = await naturalLabels(ctx, idx);
    for (let k = 0; k < idx.length; k++) ctx.natural[s + k] = ctx.robust[s + k] = pred[k] === ctx.labels[s + k] ? 1 : 0;
    progress(ctx, s + idx.length);
  }
}

async function pgdEvaluation(ctx: Context, attack: PgdAttackConfig): Promise<Partial<EvaluationResult>> {
  const seed = ctx.options.seed ?? 0;
  const startRng = Rng.derive(seed, 'pgd-random-start');
  const targetRng = Rng.derive(seed, 'pgd-random-target');
  const k = ctx.set.numClasses;
  let sumL2 = 0;
  let sumLInf = 0;
  let correctSoFar = 0;
  for (let s = 0; s < ctx.indices.length; s += ctx.batchSize) {
    const idx = ctx.indices.subarray(s, s + ctx.batchSize);
    const y = ctx.labels.subarray(s, s + idx.length);
    const attackLabels = Int32Array.from(y, (label) => (attack.target === 'next' ? (label + 1) % k : attack.target === 'random' ? targetRng.int(k) : label));
    const x = batchTensor(ctx.set, idx);
    const labelTensor = tf.tensor1d(attackLabels, 'int32');
    const result = pgdBatch(ctx.model, x, labelTensor, {
      norm: attack.norm,
      eps: attack.eps,
      step: attack.step,
      iterations: attack.iterations,
      targeted: attack.target !== 'none',
      randomStart: attack.randomStart,
      rng: startRng,
    });
    const [natPred, advPred] = [await predictions(ctx.model, x), await predictions(ctx.model, result.adversarial)];
    const [l2, linf] = tf.tidy(() => {
      const delta = tf.sub(result.adversarial, x) as tf.Tensor4D;
      return [tf.reshape(exampleL2Norm(delta), [-1]), exampleLInfNorm(delta)];
    });
    const [l2v, linfv] = [await l2!.data(), await linf!.data()];
    await reportBroken(
      ctx,
      x,
      result.adversarial,
      Uint8Array.from(y, (label, j) => (natPred[j] === label ? 1 : 0)),
      advPred,
      y,
    );
    tf.dispose([x, labelTensor, result.adversarial, result.loss, l2!, linf!]);
    for (let j = 0; j < idx.length; j++) {
      ctx.natural[s + j] = natPred[j] === y[j] ? 1 : 0;
      ctx.robust[s + j] = advPred[j] === y[j] ? 1 : 0;
      correctSoFar += ctx.robust[s + j]!;
      sumL2 += l2v[j]!;
      sumLInf += linfv[j]!;
    }
    progress(ctx, s + idx.length, { robustAcc: correctSoFar / (s + idx.length) });
  }
  const n = ctx.indices.length;
  return { meanPerturbationL2: n ? sumL2 / n : 0, meanPerturbationLInf: n ? sumLInf / n : 0 };
}

/**
 * APGD, Square and AutoAttack all run through autoAttackBatch (a lone APGD or Square is AutoAttack
 * with one component), so a component alone and inside AutoAttack draws the same random numbers
 * for an image (its streams are named by the seed, the component and the image's dataset index).
 */
function autoAttackOptions(attack: ApgdAttackConfig | SquareAttackConfig | AutoAttackConfig, seed: number): Omit<AutoAttackOptions, 'ids'> {
  const base = {
    norm: attack.norm,
    eps: attack.eps,
    seed,
    apgdIterations: 1,
    apgdRestarts: 1,
    targets: 1,
    fabIterations: 1,
    squareQueries: 1,
    squarePInit: 0.8,
  };
  switch (attack.kind) {
    case 'apgd':
      return {
        ...base,
        components: [attack.loss === 'ce' ? 'apgd-ce' : 'apgd-t'],
        apgdIterations: attack.iterations,
        apgdRestarts: attack.restarts,
        targets: attack.targets,
      };
    case 'square':
      return { ...base, components: ['square'], squareQueries: attack.queries, squarePInit: attack.pInit };
    case 'autoattack':
      return { ...base, ...attack, seed };
  }
}

async function autoAttackEvaluation(ctx: Context, attack: ApgdAttackConfig | SquareAttackConfig | AutoAttackConfig): Promise<Partial<EvaluationResult>> {
  const options = autoAttackOptions(attack, ctx.options.seed ?? 0);
  const brokenBy: Partial<Record<AutoAttackComponent, number>> = {};
  for (const c of options.components) brokenBy[c] = 0;
  let sumL2 = 0;
  let sumLInf = 0;
  let correctSoFar = 0;
  for (let s = 0; s < ctx.indices.length; s += ctx.batchSize) {
    const idx = ctx.indices.subarray(s, s + ctx.batchSize);
    const y = ctx.labels.subarray(s, s + idx.length);
    const x = batchTensor(ctx.set, idx);
    const labelTensor = tf.tensor1d(Int32Array.from(y), 'int32');
    const r = autoAttackBatch(ctx.model, x, labelTensor, { ...options, ids: idx });
    // The outcome is read from the returned examples, not from the attack's own bookkeeping.
    const advPred = await predictions(ctx.model, r.adversarial);
    const [l2, linf] = tf.tidy(() => {
      const delta = tf.sub(r.adversarial, x) as tf.Tensor4D;
      return [tf.reshape(exampleL2Norm(delta), [-1]), exampleLInfNorm(delta)];
    });
    const [l2v, linfv] = [await l2!.data(), await linf!.data()];
    await reportBroken(ctx, x, r.adversarial, r.natural, advPred, y);
    tf.dispose([x, labelTensor, r.adversarial, l2!, linf!]);
    for (let j = 0; j < idx.length; j++) {
      ctx.natural[s + j] = r.natural[j]!;
      ctx.robust[s + j] = r.natural[j] && advPred[j] === y[j] ? 1 : 0;
      // Where the backend's logits depend on the batch, the re-run may disagree with the attack's own
      // account at a decision boundary; the re-run decides, and a component is credited only then.
      const b = r.brokenBy[j];
      if (b && b !== 'natural' && !ctx.robust[s + j]) brokenBy[b] = (brokenBy[b] ?? 0) + 1;
      correctSoFar += ctx.robust[s + j]!;
      sumL2 += l2v[j]!;
      sumLInf += linfv[j]!;
    }
    progress(ctx, s + idx.length, { robustAcc: correctSoFar / (s + idx.length) });
  }
  const n = ctx.indices.length;
  return { meanPerturbationL2: n ? sumL2 / n : 0, meanPerturbationLInf: n ? sumLInf / n : 0, brokenBy };
}

async function gridEvaluation(ctx: Context, attack: GridAttackConfig): Promise<Partial<EvaluationResult>> {
  await naturalOnly(ctx);
  // The grid includes the identity, so only examples right untouched can be robust; for them the
  // identity point is already known to be right and is not evaluated again.
  const motions = gridMotions(attack.grid).filter((m) => !(m.angleDeg === 0 && m.tx === 0 && m.ty === 0));
  const candidates = [...ctx.indices.keys()].filter((j) => ctx.natural[j]);
  ctx.robust.fill(0);
  const block = Math.max(4 * ctx.batchSize, 512);
  const stride = imageSize(ctx.set);
  let evaluations = 0;
  let computed = 0;
  let robustSoFar = 0;
  const memo = usableMemo(ctx);
  for (let s = 0; s < candidates.length; s += block) {
    const local = candidates.slice(s, s + block);
    const images = ctx.set.gather(
      local.map((j) => ctx.indices[j]!),
      new Float32Array(local.length * stride),
    );
    const result = await gridAttack(
      ctx.model,
      images,
      ctx.set,
      local.map((j) => ctx.labels[j]!),
      motions,
      {
        batchSize: ctx.batchSize,
        ...(ctx.options.pointsPerRound ? { pointsPerRound: ctx.options.pointsPerRound } : {}),
        ...(memo ? { known: memo.memo.view(images, local.length, stride, motions) } : {}),
      },
    );
    evaluations += result.evaluations;
    computed += result.computed;
    local.forEach((j, k) => {
      ctx.robust[j] = result.robust[k]!;
      robustSoFar += result.robust[k]!;
    });
    progress(ctx, Math.min(ctx.indices.length, Math.round(((s + local.length) / candidates.length) * ctx.indices.length)), {
      robust: robustSoFar,
    });
  }
  return { gridEvaluations: evaluations, gridComputed: computed };
}
