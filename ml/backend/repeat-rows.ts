/**
 * v [c] -> [rows, c], every row a copy of v: the gradient of a column sum (x [rows, c] summed over
 * rows). tfjs' Sum gradient computes it as dy * ones([rows, c]), which allocates and fills a tensor
 * of ones and runs a full multiply per use; multiplying by 1 is exact, so a copy gives the same bits
 * (the G-ResNet's group batch norm sums twice per layer in training: 5 % of a G-ResNet step went to
 * the ones alone, more to the multiply and the garbage they leave).
 *
 * Registered for cpu and native as a loop kernel; other backends tile.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const REPEAT_ROWS_KERNEL = 'RfRepeatRows';

const repeatRowsKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { v } = args.inputs as { v: TensorInfo };
  const { rows } = args.attrs as unknown as { rows: number };
  const src = readF32(backend, v, REPEAT_ROWS_KERNEL, 'v');
  const c = src.length;
  const { info, values: out } = allocF32(backend, [rows, c], false);
  if (rows === 0 || c === 0) return info;
  out.set(src, 0);
  // Doubling copies: log2(rows) memmoves instead of one small copy per row.
  for (let filled = 1; filled < rows; filled *= 2) out.copyWithin(filled * c, 0, Math.min(filled, rows - filled) * c);
  return info;
};

const repeatRowsGrad: GradConfig = {
  kernelName: REPEAT_ROWS_KERNEL,
  gradFunc: (dys: Tensor | Tensor[]) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    return { v: () => tf.sum(dy, 0) };
  },
};

let registered = false;

/** Idempotent: the kernel for the loop backends, and its gradient. */
export function registerRepeatRows(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels([[REPEAT_ROWS_KERNEL, repeatRowsKernel]], repeatRowsGrad);
}

/** [rows, c] whose every row is `v` (a [c] vector). */
export function repeatRows(v: tf.Tensor, rows: number): tf.Tensor2D {
  if (v.rank !== 1 || v.dtype !== 'float32') throw new Error(`${REPEAT_ROWS_KERNEL}: v must be a float32 vector, got ${v.dtype}[${v.shape}]`);
  if (!(Number.isInteger(rows) && rows >= 0)) throw new Error(`${REPEAT_ROWS_KERNEL}: bad row count ${rows}`);
  if (tf.getKernel(REPEAT_ROWS_KERNEL, tf.getBackend()) === undefined) return tf.tile(v.reshape([1, -1]), [rows, 1]) as tf.Tensor2D;
  const attrs: NamedAttrMap = { rows };
  return tf.engine().runKernel(REPEAT_ROWS_KERNEL, { v }, attrs) as tf.Tensor2D;
}

/**
 * x [rows, c] summed over rows, as x.sum(0) (the same kernel, the same bits), with the gradient
 * dy repeated over the rows (see above) instead of tfjs' dy * ones.
 */
export const columnSum = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor2D;
  const rows = x.shape[0];
  return { value: tf.sum(x, 0), gradFunc: (dy: tf.Tensor) => repeatRows(dy, rows) };
}) as (x: tf.Tensor2D) => tf.Tensor1D;
