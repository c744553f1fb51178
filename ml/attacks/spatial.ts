import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { applyWarp, planWarp, type RigidMotion, type WarpPlan } from '../transform/rigid.ts';

export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

export interface GridAttackOptions {
  /** Images per model call (default 256). */
  readonly batchSize?: number;
  /**
   * Grid points tried per round (default 32): after each round the examples already fooled drop
   * out, so smaller rounds waste less work on fooled examples and larger ones make fuller batches.
   */
  readonly pointsPerRound?: number;
  /**
   * Evaluate every point for every image, fooled or not (default false). The outcome is the same;
   * only the work differs (for diagnostics and worst-case throughput measurements).
   */
  readonly exhaustive?: boolean;
  /**
   * Labels already known for some (image, point) pairs, and where to put the ones computed here:
   * a known pair is not warped or forwarded again. The attack runs exactly as without it (the same
   * rounds, batches and early stopping, so the same result and `evaluations`); only the forward
   * passes of known pairs are left out, which is exact only where the model's label for an image
   * does not depend on the other images in its batch (see prediction-memo.ts).
   */
  readonly known?: KnownLabels;
  readonly onProgress?: ProgressSink;
}

/** Labels of (image, grid point) pairs, by index into the attack's images and motions. */
export interface KnownLabels {
  /** The label the model gives image `image` under motion `point`, or -1 when not known. */
  get(image: number, point: number): number;
  set(image: number, point: number, label: number): void;
}

export interface GridAttackResult {
  /** 1 where the model is right on every grid point. */
  readonly robust: Uint8Array;
  /** Index (into the given motions) of a grid point found to fool the model, -1 where robust. */
  readonly foolingPoint: Int32Array;
  /** (image, grid point) pairs evaluated: at most count x points thanks to early stopping. */
  readonly evaluations: number;
  /** Of those, the pairs the model was run on (the others were `known`). */
  readonly computed: number;
}

/**
 * Order in which points are tried: the strongest motions (largest rotation and translation) first,
 * since they fool the most examples and early stopping then saves the most work; the identity last.
 * Returns indices into `motions`. The outcome of the attack does not depend on the order.
 */
export function attackOrder(motions: readonly RigidMotion[]): number[] {
  const maxA = Math.max(1e-12, ...motions.map((m) => Math.abs(m.angleDeg)));
  const maxT = Math.max(1e-12, ...motions.map((m) => Math.max(Math.abs(m.tx), Math.abs(m.ty))));
  const strength = (m: RigidMotion) => Math.abs(m.angleDeg) / maxA + (Math.abs(m.tx) + Math.abs(m.ty)) / (2 * maxT);
  return motions.map((_, i) => i).sort((a, b) => strength(motions[b]!) - strength(motions[a]!) || a - b);
}

/**
 * Writes image `from` of `images` warped by `plan` into slot `to` of `out` (both NHWC), through the
 * shared rigid transform (the augmentations' code path).
 */
export function warpInto(plan: WarpPlan, images: Float32Array, from: number, out: Float32Array, to: number, channels: number): void {
  const stride = plan.height * plan.width * channels;
  applyWarp(plan, images.subarray(from * stride, (from + 1) * stride), out.subarray(to * stride, (to + 1) * stride), channels);
}

/**
 * Spatial grid attack (docs/method/pgd-and-grids.md#how-a-grid-attack-runs): the model (in 'eval' mode) classifies every image under
 * every motion; an image is robust only if all are classified as `labels`. Work is organised in
 * rounds of grid points: each round evaluates, for the images still robust, the round's points in
 * batches of `batchSize`; images fooled in a round get no further work.
 *
 * `images` is NHWC [count, H, W, C] in [0, 1].
 */
export async function gridAttack(
  model: Classifier,
  images: Float32Array,
  shape: ImageShape,
  labels: ArrayLike<number>,
  motions: readonly RigidMotion[],
  options: GridAttackOptions = {},
): Promise<GridAttackResult> {
  const { height, width, channels } = shape;
  const stride = height * width * channels;
  const count = labels.length;
  if (images.length !== count * stride) {
    throw new Error(`gridAttack: ${images.length} values for ${count} images of ${height}x${width}x${channels}`);
  }
  if (motions.length === 0) throw new Error('gridAttack: empty grid');
  const batchSize = options.batchSize ?? 256;
  const perRound = options.pointsPerRound ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`gridAttack: bad batchSize ${batchSize}`);
  if (!(Number.isInteger(perRound) && perRound > 0)) throw new Error(`gridAttack: bad pointsPerRound ${perRound}`);
  const exhaustive = options.exhaustive ?? false;

  const order = attackOrder(motions);
  const plans = new Map<number, WarpPlan>();
  const planFor = (p: number): WarpPlan => {
    let plan = plans.get(p);
    if (!plan) {
      plan = planWarp(height, width, motions[p]!);
      plans.set(p, plan);
    }
    return plan;
  };

  const robust = new Uint8Array(count).fill(1);
  const foolingPoint = new Int32Array(count).fill(-1);
  let active: number[] = Array.from({ length: count }, (_, i) => i);
  let evaluations = 0;
  let computed = 0;
  const known = options.known;
  const buffer = new Float32Array(batchSize * stride);
  // A batch holds `filled` pairs; the `toRun` of them whose label is not known are warped into
  // the front of `buffer` (at `slot[k]`), the others carry their label in `label[k]`.
  const itemImage = new Int32Array(batchSize);
  const itemPoint = new Int32Array(batchSize);
  const label = new Int32Array(batchSize);
  const slot = new Int32Array(batchSize);
  let toRun = 0;

  const runBatch = async (filled: number): Promise<void> => {
    if (toRun > 0) {
      const logits = tf.tidy(() => {
        const x = tf.tensor4d(buffer.subarray(0, toRun * stride), [toRun, height, width, channels]);
        return tf.argMax(model.logits(x, 'eval'), 1);
      });
      const predicted = await logits.data();
      logits.dispose();
      for (let k = 0; k < filled; k++) {
        if (slot[k]! < 0) continue;
        label[k] = predicted[slot[k]!]!;
        known?.set(itemImage[k]!, itemPoint[k]!, label[k]!);
      }
      computed += toRun;
      toRun = 0;
    }
    evaluations += filled;
    for (let k = 0; k < filled; k++) {
      const i = itemImage[k]!;
      if (label[k] !== labels[i] && robust[i]) {
        robust[i] = 0;
        foolingPoint[i] = itemPoint[k]!;
      }
    }
  };

  for (let start = 0; start < order.length && active.length > 0; start += perRound) {
    const points = order.slice(start, start + perRound);
    let filled = 0;
    for (const p of points) {
      for (const i of active) {
        if (!robust[i] && !exhaustive) continue; // fooled earlier in this round, in an already-run batch
        const got = known ? known.get(i, p) : -1;
        if (got >= 0) {
          label[filled] = got;
          slot[filled] = -1;
        } else {
          warpInto(planFor(p), images, i, buffer, toRun, channels);
          slot[filled] = toRun++;
        }
        itemImage[filled] = i;
        itemPoint[filled] = p;
        if (++filled === batchSize) {
          await runBatch(filled);
          filled = 0;
        }
      }
    }
    if (filled > 0) await runBatch(filled);
    if (!exhaustive) active = active.filter((i) => robust[i]);
    options.onProgress?.({
      done: Math.min(order.length, start + perRound),
      total: order.length,
      unit: 'grid points',
      info: { robust: exhaustive ? robust.reduce((a, b) => a + b, 0) : active.length, evaluations },
    });
  }
  return { robust, foolingPoint, evaluations, computed };
}
