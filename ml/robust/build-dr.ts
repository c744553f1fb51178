import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.ts';
import { imageSize } from '../data/image-set.ts';
import type { Classifier } from '../models/classifier.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { Rng } from '../random.ts';
import { checkBatchSize, checkIndices, mean, type BuiltDataset } from './built-dataset.ts';
import { invertRepresentation } from './representation.ts';

export interface BuildRobustOptions {
  /** Gradient steps per image (Ilyas et al.: 1,000). */
  readonly steps: number;
  /** Normalised L2 step size (Ilyas et al.: 0.1). */
  readonly stepSize: number;
  /** Size of the last step, the steps shrinking linearly to it (absent: constant steps). */
  readonly finalStepSize?: number;
  /** Seeds the choice of the random start image x' of every example. */
  readonly seed: number;
  /** Images inverted together (default 64). */
  readonly batchSize?: number;
  /** Base examples to build from (default: all). Start images x' are drawn from the whole base set. */
  readonly indices?: ArrayLike<number>;
  readonly onProgress?: ProgressSink;
}

export interface RobustDataset extends BuiltDataset {
  /** Index in the base set of the start image x' of each example. */
  readonly sourceIndices: Int32Array;
  /** ||g(z) - g(x)||_2 / ||g(x)||_2 per example, at the start (z = x') and at the end. */
  readonly initialDistances: Float32Array;
  readonly distances: Float32Array;
  readonly metrics: {
    readonly meanInitialDistance: number;
    readonly meanDistance: number;
    readonly medianDistance: number;
    readonly maxDistance: number;
  };
}

/**
 * For every example i, a start image drawn uniformly from the other examples of a base set of
 * `count`, independently of labels; the draws for a given seed do not depend on the batching.
 */
export function drawSourceIndices(bases: Int32Array, count: number, seed: number): Int32Array {
  if (count < 2) throw new Error(`D_R construction needs a base set of at least 2 images, got ${count}`);
  const rng = Rng.derive(seed, 'dr-source-image');
  return Int32Array.from(bases, (i) => {
    const j = rng.int(count - 1);
    return j >= i ? j + 1 : j;
  });
}

/**
 * Builds D_R (Ilyas et al.; docs/method/robust-datasets.md#building-d_r): for each base example (x, y), starting from a
 * random other image x', finds z whose robust representation matches g(x), and keeps (z, y).
 */
export async function buildRobustDataset(model: Classifier, set: ImageSet, options: BuildRobustOptions): Promise<RobustDataset> {
  const who = 'buildRobustDataset';
  const batchSize = options.batchSize ?? 64;
  checkBatchSize(batchSize, who);
  const bases = checkIndices(options.indices ?? Array.from({ length: set.count }, (_, i) => i), set.count, who);
  const sources = drawSourceIndices(bases, set.count, options.seed);
  const n = bases.length;
  const stride = imageSize(set);
  const shape = (m: number): [number, number, number, number] => [m, set.height, set.width, set.channels];
  const images = new Float32Array(n * stride);
  const initialDistances = new Float32Array(n);
  const distances = new Float32Array(n);
  const batches = Math.ceil(n / batchSize);
  const every = Math.max(1, Math.floor(options.steps / 50));

  for (let b = 0; b < batches; b++) {
    const from = b * batchSize;
    const idx = bases.subarray(from, from + batchSize);
    const m = idx.length;
    const x = tf.tensor4d(set.gather(idx), shape(m));
    const start = tf.tensor4d(set.gather(sources.subarray(from, from + m)), shape(m));
    const r = invertRepresentation(model, x, start, {
      steps: options.steps,
      stepSize: options.stepSize,
      ...(options.finalStepSize !== undefined ? { finalStepSize: options.finalStepSize } : {}),
      onIterate: options.onProgress
        ? (_z, step) => {
            if (step % every === 0 || step === options.steps) {
              options.onProgress!({ done: b * options.steps + step, total: batches * options.steps, unit: 'steps', info: { images: from } });
            }
          }
        : undefined,
    });
    images.set(await r.z.data(), from * stride);
    initialDistances.set(await r.initialDistance.data(), from);
    distances.set(await r.distance.data(), from);
    tf.dispose([x, start, r.z, r.initialDistance, r.distance]);
    options.onProgress?.({
      done: (b + 1) * options.steps,
      total: batches * options.steps,
      unit: 'steps',
      info: { images: from + m, meanDistance: mean(distances.subarray(0, from + m)) },
    });
  }
  const sorted = Float32Array.from(distances).sort();
  return {
    count: n,
    height: set.height,
    width: set.width,
    channels: set.channels,
    numClasses: set.numClasses,
    images,
    labels: Uint8Array.from(bases, (i) => set.labels[i]!),
    baseIndices: bases,
    sourceIndices: sources,
    initialDistances,
    distances,
    metrics: {
      meanInitialDistance: mean(initialDistances),
      meanDistance: mean(distances),
      medianDistance: n ? (sorted[(n - 1) >> 1]! + sorted[n >> 1]!) / 2 : 0,
      maxDistance: n ? sorted[n - 1]! : 0,
    },
  };
}
