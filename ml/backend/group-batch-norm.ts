/**
 * The full-size steps of the G-ResNet's group batch norm (ml/models/batch-norm.ts, statistics shared
 * by the 8 channels of a p4m field) as two ops with hand-written gradients, for the native backend:
 *
 *   centreAndSquareSum(x, m) = [x - m, columnSum((x - m)^2)]   (was Sub, Square, Sum)
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

/** x [rows, c] minus m [c] per column, and the column sums of its square. */
export function centreAndSquareSum(x: tf.Tensor2D, m: tf.Tensor1D, route: GroupBnRoute = 'auto'): { centred: tf.Tensor2D; sqSum: tf.Tensor1D } {
  checkRows('centreAndSquareSum', x, m);
  if (fused(route, x, m)) {
    const [centred, sqSum] = tf.engine().runKernel(GBN_CENTRE_KERNEL, { x, m }) as Tensor[];
    return { centred: centred as tf.Tensor2D, sqSum: sqSum as tf.Tensor1D };
  }
  const centred = x.sub(m) as tf.Tensor2D;
  return { centred, sqSum: columnSum(centred.square()) };
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
 * The composed route's gradient, as tfjs takes it: Square's is dCentred2 = dSq * (centred * 2)
 * (dSq copied over the rows by columnSum's gradient), the two contributions to centred add
 * (dCentred + dCentred2), and Sub's gradients are that sum for x and -(its column sums) for m.
 */
const centreGrad: GradConfig = {
  kernelName: GBN_CENTRE_KERNEL,
  inputsToSave: [],
  outputsToSave: [true, false],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[]) => {
    const [dCentred, dSq] = dys as Tensor[];
    const [centred] = saved as [Tensor];
    const [dx, dxSum] = tf.engine().runKernel(GBN_CENTRE_GRAD_KERNEL, { dCentred: dCentred!, centred, dSq: dSq! }) as Tensor[];
    return { x: () => dx!, m: () => tf.neg(dxSum!) };
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
