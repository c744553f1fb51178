/**
 * The full-size steps of the G-ResNet's group batch norm (ml/models/batch-norm.ts, statistics shared
 * by the 8 channels of a p4m field) as two ops with hand-written gradients, for the native backend:
 *
 *   centreGroups(x, g) = [x - m, columnSum((x - m)^2), m],  m the field means   (was Sum, the
 *     field-mean ops, Sub, Square, Sum; and in the gradient the RepeatRows and Add that joined x's
 *     two gradient contributions)
 *   affineRows(centred, s, b) = centred * s + b                 (was Multiply, Add; and Relu)
 *
 * Each kernel and each gradient kernel performs exactly the float operations, in the same order, of
 * the tfjs ops they replace and of the gradients tfjs' autodiff takes through those ops (listed at
 * each gradient below), so the weights after training are bit-identical; they read and write each
 * [rows, c] tensor once per pass instead of through 6 forward and 11 backward kernels. The small
 * per-field steps (means, rsqrt, the spread over the group) stay tfjs ops, differentiated by tfjs.
 * Other backends run the composed ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, NamedTensorMap, Tensor } from '@tensorflow/tfjs';
import { columnSum } from './repeat-rows.ts';

export const GBN_CENTRE_KERNEL = 'RfGroupBnCentre';
export const GBN_CENTRE_GRAD_KERNEL = 'RfGroupBnCentreGrad';
export const GBN_AFFINE_KERNEL = 'RfGroupBnAffine';
export const GBN_AFFINE_GRAD_KERNEL = 'RfGroupBnAffineGrad';

/** Which implementation runs: the fused kernels where the backend has them, or the composed tfjs ops. */
export type GroupBnRoute = 'auto' | 'composed';

function fused(route: GroupBnRoute, ...ts: Tensor[]): boolean {
  return route === 'auto' && ts.every((t) => t.dtype === 'float32') && tf.getKernel(GBN_CENTRE_KERNEL, tf.getBackend()) !== undefined;
}

function checkRows(op: string, x: Tensor, ...vectors: Tensor[]): void {
  const c = x.shape[1];
  if (x.rank !== 2 || vectors.some((v) => v.rank !== 1 || v.shape[0] !== c)) {
    throw new Error(`${op}: expected x [rows, c] and [c] vectors, got ${[x, ...vectors].map((t) => `[${t.shape.join(',')}]`).join(' ')}`);
  }
}

/** v [C] spread over the g columns of each field: [C * g] (a broadcast multiply by ones, exact). */
export function spreadOverGroups(v: tf.Tensor1D, g: number): tf.Tensor1D {
  const C = v.shape[0];
  return v
    .reshape([C, 1])
    .mul(tf.ones([1, g]))
    .reshape([C * g]) as tf.Tensor1D;
}

/**
 * For x [rows, C * g] with fields of g columns: the field means [C] (over rows and the field's
 * columns), x minus its field's mean, and the column sums of that squared [C * g]. The mean is for
 * the running statistics only: no gradient flows back through it as an output (it flows through
 * `centred`, as in the composed ops).
 */
export function centreGroups(x: tf.Tensor2D, g: number, route: GroupBnRoute = 'auto'): { centred: tf.Tensor2D; sqSum: tf.Tensor1D; mean: tf.Tensor1D } {
  const [rows, c] = x.shape;
  if (x.rank !== 2 || !(Number.isInteger(g) && g > 0 && c % g === 0)) {
    throw new Error(`centreGroups: expected x [rows, C * ${g}], got [${x.shape.join(',')}]`);
  }
  if (fused(route, x)) {
    const attrs: NamedAttrMap = { groups: g };
    const [centred, sqSum, mean] = tf.engine().runKernel(GBN_CENTRE_KERNEL, { x }, attrs) as Tensor[];
    return { centred: centred as tf.Tensor2D, sqSum: sqSum as tf.Tensor1D, mean: mean as tf.Tensor1D };
  }
  // Column sums whose gradient copies dy over the rows rather than multiplying it by a
  // [rows, c] tensor of ones (tfjs' Sum gradient): the same values, a fraction of the work.
  const mean = columnSum(x)
    .reshape([c / g, g])
    .sum(1)
    .div(rows * g) as tf.Tensor1D;
  const centred = x.sub(spreadOverGroups(mean, g)) as tf.Tensor2D;
  return { centred, sqSum: columnSum(centred.square()), mean };
}

/** centred [rows, c] times s [c] plus b [c], per column; then ReLU when `relu`. */
export function affineRows(centred: tf.Tensor2D, s: tf.Tensor1D, b: tf.Tensor1D, route: GroupBnRoute = 'auto', relu = false): tf.Tensor2D {
  checkRows('affineRows', centred, s, b);
  if (fused(route, centred, s, b)) {
    const attrs: NamedAttrMap = { relu };
    return tf.engine().runKernel(GBN_AFFINE_KERNEL, { centred, s, b }, attrs) as tf.Tensor2D;
  }
  const y = centred.mul(s).add(b) as tf.Tensor2D;
  return relu ? tf.relu(y) : y;
}

/**
 * The composed route's gradient, replayed by the kernel (native/src/group_bn.cc says each step):
 * through Square and Sub, then back through the field means and the column sums to x, the two
 * contributions to x added once, as tfjs' autodiff of the composed ops adds them.
 */
const centreGrad: GradConfig = {
  kernelName: GBN_CENTRE_KERNEL,
  inputsToSave: [],
  outputsToSave: [true, false, false],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [dCentred, dSq] = dys as Tensor[];
    const [centred] = saved as [Tensor];
    const dx = tf.engine().runKernel(GBN_CENTRE_GRAD_KERNEL, { dCentred: dCentred!, centred, dSq: dSq! }, attrs) as Tensor;
    return { x: () => dx };
  },
};

/**
 * Add's gradient: dy for the sum, dB = column sums of dy; Multiply's: dCentred = dy * s, dS = column
 * sums of dy * centred. Under relu, dy is first ReLU's gradient (dy where the output is > 0).
 */
const affineGrad: GradConfig = {
  kernelName: GBN_AFFINE_KERNEL,
  inputsToSave: ['centred', 's'],
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = Array.isArray(dy) ? dy[0]! : dy;
    const [centred, s, y] = saved as [Tensor, Tensor, Tensor];
    const inputs: NamedTensorMap = attrs.relu === true ? { dy: g, centred, s, mask: y! } : { dy: g, centred, s };
    const [dCentred, dS, dB] = tf.engine().runKernel(GBN_AFFINE_GRAD_KERNEL, inputs) as Tensor[];
    return { centred: () => dCentred!, s: () => dS!, b: () => dB! };
  },
};

let registered = false;

/** Idempotent: the gradients (the kernels themselves are the native backend's). */
export function registerGroupBatchNormGrads(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(centreGrad);
  tf.registerGradient(affineGrad);
}
