import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.ts';
import { imageSize } from '../data/image-set.ts';
import type { Classifier } from '../models/classifier.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { Rng } from '../random.ts';
import { pgdBatch } from '../attacks/pgd.ts';
import { exampleL2Norm } from '../attacks/steps.ts';
import { checkBatchSize, checkIndices, mean, type BuiltDataset } from './built-dataset.ts';

export type NonRobustVariant = 'det' | 'rand';

export interface BuildNonRobustOptions {
  /** D_det: target (y + 1) mod K; D_rand: target uniform over the K classes. */
  readonly variant: NonRobustVariant;
  /** Targeted L2-PGD (the paper's: eps 0.5, step 0.1, 100 iterations). */
  readonly eps: number;
  readonly step: number;
  readonly iterations: number;
  /** Seeds the D_rand targets. */
  readonly seed: number;
  /** Images attacked together (default 128). */
  readonly batchSize?: number;
  /** Base examples to build from (default: all). */
  readonly indices?: ArrayLike<number>;
  readonly onProgress?: ProgressSink;
}

export interface NonRobustDataset extends BuiltDataset {
  /** The labels of the base examples (the new labels are the targets). */
  readonly originalLabels: Uint8Array;
  /** ||x_adv - x||_2 per example. */
  readonly perturbationL2: Float32Array;
  /** 1 where the standard model classifies x_adv as its target. */
  readonly targetReached: Uint8Array;
  readonly metrics: { readonly targetSuccessRate: number; readonly meanPerturbationL2: number };
}

/** Targets for the base labels `labels`: deterministic (y + 1) mod K, or seeded uniform draws in order. */
export function nonRobustTargets(labels: Uint8Array, numClasses: number, variant: NonRobustVariant, seed: number): Uint8Array {
  if (variant === 'det') return Uint8Array.from(labels, (y) => (y + 1) % numClasses);
  if (variant === 'rand') {
    const rng = Rng.derive(seed, 'dnr-random-target');
    return Uint8Array.from(labels, () => rng.int(numClasses));
  }
  throw new Error(`unknown D_NR variant '${String(variant)}' (expected 'det' or 'rand')`);
}

/**
 * Builds D_NR (Ilyas et al.'s D_det / D_rand; docs/method/robust-datasets.md#building-d_nr): every base example x
 * is attacked with targeted L2-PGD on a standard model toward its target t and stored as (x_adv, t).
 */
export async function buildNonRobustDataset(model: Classifier, set: ImageSet, options: BuildNonRobustOptions): Promise<NonRobustDataset> {
  const who = 'buildNonRobustDataset';
  const batchSize = options.batchSize ?? 128;
  checkBatchSize(batchSize, who);
  const bases = checkIndices(options.indices ?? Array.from({ length: set.count }, (_, i) => i), set.count, who);
  const n = bases.length;
  const originalLabels = Uint8Array.from(bases, (i) => set.labels[i]!);
  const targets = nonRobustTargets(originalLabels, set.numClasses, options.variant, options.seed);
  const stride = imageSize(set);
  const images = new Float32Array(n * stride);
  const perturbationL2 = new Float32Array(n);
  const targetReached = new Uint8Array(n);

  for (let from = 0; from < n; from += batchSize) {
    const idx = bases.subarray(from, from + batchSize);
    const m = idx.length;
    const x = tf.tensor4d(set.gather(idx), [m, set.height, set.width, set.channels]);
    const t = tf.tensor1d(Int32Array.from(targets.subarray(from, from + m)), 'int32');
    const r = pgdBatch(model, x, t, {
      norm: 'l2',
      eps: options.eps,
      step: options.step,
      iterations: options.iterations,
      targeted: true,
    });
    const [norms, hit] = tf.tidy(() => [
      tf.reshape(exampleL2Norm(tf.sub(r.adversarial, x) as tf.Tensor4D), [-1]),
      tf.cast(tf.equal(tf.argMax(model.logits(r.adversarial, 'eval'), 1), t), 'int32'),
    ]);
    images.set(await r.adversarial.data(), from * stride);
    perturbationL2.set(await norms!.data(), from);
    targetReached.set(await hit!.data(), from);
    tf.dispose([x, t, r.adversarial, r.loss, norms!, hit!]);
    options.onProgress?.({
      done: from + m,
      total: n,
      unit: 'images',
      info: { targetSuccess: mean(targetReached.subarray(0, from + m)) },
    });
  }
  return {
    count: n,
    height: set.height,
    width: set.width,
    channels: set.channels,
    numClasses: set.numClasses,
    images,
    labels: targets,
    baseIndices: bases,
    originalLabels,
    perturbationL2,
    targetReached,
    metrics: { targetSuccessRate: mean(targetReached), meanPerturbationL2: mean(perturbationL2) },
  };
}
