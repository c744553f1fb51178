/**
 * Which planted feature a model uses, measured exactly on the synthetic set (ml/data/synthetic.ts),
 * where every image's robust class and non-robust pattern are known. Three probes on test images:
 * - conflict: images showing their label's robust pattern, with the non-robust pattern swapped
 *   from y to a seeded t ≠ y (an L2 change of √2·nonRobustNorm): the share predicted y (follows
 *   the robust feature), t (follows the non-robust one) or neither;
 * - robust only: p_y removed; accuracy against the robust class the image shows;
 * - non-robust only: the set's own images whose robust pattern is another class's (probability
 *   1 − robustReliability), left untouched; accuracy against the label, which only p_y carries.
 * The paper can only infer feature use from attack success rates; this measures it.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.ts';
import { imageSize } from '../data/image-set.ts';
import type { SyntheticBank } from '../data/synthetic.ts';
import type { Classifier } from '../models/classifier.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { Rng } from '../random.ts';

export interface FeatureReliance {
  /** Test images probed. */
  readonly count: number;
  /** Accuracy on the untouched images. */
  readonly naturalAccuracy: number;
  readonly conflict: { readonly count: number; readonly followsRobust: number; readonly followsNonRobust: number; readonly neither: number };
  readonly robustOnly: { readonly count: number; readonly accuracy: number };
  /** `followsRobust`: the share predicted as the (other) class whose robust pattern is shown. */
  readonly nonRobustOnly: { readonly count: number; readonly accuracy: number; readonly followsRobust: number };
}

export interface RelianceOptions {
  /** Examples of `set` to probe (default: all). */
  readonly indices?: ArrayLike<number>;
  /** Seeds the conflict targets t. */
  readonly seed: number;
  readonly batchSize?: number;
  readonly onProgress?: ProgressSink;
}

/** Predicted classes of NHWC images `x` ([n, h, w, c] flattened), in batches, eval mode. */
export async function predictClasses(model: Classifier, x: Float32Array, shape: readonly [number, number, number], batchSize: number): Promise<Int32Array> {
  const stride = shape[0] * shape[1] * shape[2];
  const n = x.length / stride;
  const out = new Int32Array(n);
  for (let from = 0; from < n; from += batchSize) {
    const m = Math.min(batchSize, n - from);
    const pred = tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(x.subarray(from * stride, (from + m) * stride), [m, ...shape]), 'eval'), 1));
    out.set(await pred.data(), from);
    pred.dispose();
  }
  return out;
}

const fraction = (k: number, n: number) => (n === 0 ? 0 : k / n);

/** The three probes (and natural accuracy) of `model` on synthetic images with known robust classes. */
export async function featureReliance(
  model: Classifier,
  set: ImageSet,
  truth: { readonly bank: SyntheticBank; readonly robustClass: Uint8Array },
  options: RelianceOptions,
): Promise<FeatureReliance> {
  const { bank, robustClass } = truth;
  const K = bank.params.numClasses;
  if (set.numClasses !== K || robustClass.length !== set.count) {
    throw new Error(
      `featureReliance: the set (${set.count} images, ${set.numClasses} classes) does not match its ground truth (${robustClass.length} robust classes, ${K} classes)`,
    );
  }
  if (model.numClasses !== K) throw new Error(`featureReliance: the model has ${model.numClasses} classes, the set ${K}`);
  const indices = Int32Array.from(options.indices ?? Array.from({ length: set.count }, (_, i) => i));
  const stride = imageSize(set);
  const shape = [set.height, set.width, set.channels] as const;
  const n = indices.length;
  const images = set.gather(indices);
  const labels = Uint8Array.from(indices, (i) => set.labels[i]!);
  const shown = Uint8Array.from(indices, (i) => robustClass[i]!);

  // Conflict images (robust pattern of y shown) and robust-only images, built in pixel space.
  const rng = Rng.derive(options.seed, 'probe/conflict-target');
  const conflictRows: number[] = [];
  const targets: number[] = [];
  for (let k = 0; k < n; k++) {
    if (shown[k] !== labels[k]) continue;
    conflictRows.push(k);
    targets.push((labels[k]! + 1 + rng.int(K - 1)) % K);
  }
  const conflict = new Float32Array(conflictRows.length * stride);
  const robustOnly = new Float32Array(n * stride);
  const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let k = 0; k < n; k++) {
    const p = bank.nonRobust[labels[k]!]!;
    const o = k * stride;
    for (let i = 0; i < stride; i++) robustOnly[o + i] = clamp(images[o + i]! - p[i]!);
  }
  conflictRows.forEach((k, j) => {
    const from = bank.nonRobust[labels[k]!]!;
    const to = bank.nonRobust[targets[j]!]!;
    const o = k * stride;
    const c = j * stride;
    for (let i = 0; i < stride; i++) conflict[c + i] = clamp(images[o + i]! - from[i]! + to[i]!);
  });

  const batchSize = options.batchSize ?? 128;
  const report = (done: number) => options.onProgress?.({ done, total: 3, unit: 'probes' });
  const natural = await predictClasses(model, images, shape, batchSize);
  report(1);
  const onConflict = await predictClasses(model, conflict, shape, batchSize);
  report(2);
  const onRobustOnly = await predictClasses(model, robustOnly, shape, batchSize);
  report(3);

  let correct = 0;
  let robustHits = 0;
  let nrRows = 0;
  let nrHits = 0;
  let nrRobust = 0;
  for (let k = 0; k < n; k++) {
    if (natural[k] === labels[k]) correct++;
    if (onRobustOnly[k] === shown[k]) robustHits++;
    if (shown[k] !== labels[k]) {
      nrRows++;
      if (natural[k] === labels[k]) nrHits++;
      else if (natural[k] === shown[k]) nrRobust++;
    }
  }
  let toRobust = 0;
  let toNonRobust = 0;
  conflictRows.forEach((k, j) => {
    if (onConflict[j] === labels[k]) toRobust++;
    else if (onConflict[j] === targets[j]) toNonRobust++;
  });
  const m = conflictRows.length;
  return {
    count: n,
    naturalAccuracy: fraction(correct, n),
    conflict: { count: m, followsRobust: fraction(toRobust, m), followsNonRobust: fraction(toNonRobust, m), neither: fraction(m - toRobust - toNonRobust, m) },
    robustOnly: { count: n, accuracy: fraction(robustHits, n) },
    nonRobustOnly: { count: nrRows, accuracy: fraction(nrHits, nrRows), followsRobust: fraction(nrRobust, nrRows) },
  };
}
