/**
 * Per-example selection: out[n] = mask[n] ? a[n] : b[n] for batches a, b [N, ...] and a mask [N].
 * PGD keeps each example's best iterate this way; tfjs' where needs the mask broadcast to the
 * batch's shape first (a cpu Tile of a boolean tensor, element by element, then a cpu Select):
 * 17 % of f_A's adversarial training. Copying whole rows gives the same values.
 *
 * A loop kernel on cpu and native; other backends broadcast and select. Not differentiable (PGD
 * selects outside any gradient).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const SELECT_ROWS_KERNEL = 'RfSelectRows';

const selectRowsKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { mask, a, b } = args.inputs as { mask: TensorInfo; a: TensorInfo; b: TensorInfo };
  const m = backend.readSync(mask.dataId) as ArrayLike<number>;
  const av = readF32(backend, a, SELECT_ROWS_KERNEL, 'a');
  const bv = readF32(backend, b, SELECT_ROWS_KERNEL, 'b');
  const rows = a.shape[0] ?? 0;
  const width = rows === 0 ? 0 : av.length / rows;
  const { info, values: out } = allocF32(backend, [...a.shape], false);
  for (let r = 0; r < rows; r++) out.set((m[r] ? av : bv).subarray(r * width, (r + 1) * width), r * width);
  return info;
};

let registered = false;

/** Idempotent: the kernel for the loop backends. */
export function registerSelectRows(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels([[SELECT_ROWS_KERNEL, selectRowsKernel]], undefined);
}

/** Example n of `a` where mask[n] is true, else example n of `b` (same shapes, float32; mask [N]). */
export function selectRows<T extends tf.Tensor>(mask: tf.Tensor1D, a: T, b: T): T {
  const n = a.shape[0];
  if (a.rank < 1 || mask.rank !== 1 || mask.shape[0] !== n || !tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`${SELECT_ROWS_KERNEL}: mask [${mask.shape}], a [${a.shape}] and b [${b.shape}] do not fit`);
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || tf.getKernel(SELECT_ROWS_KERNEL, tf.getBackend()) === undefined) {
    return tf.tidy(() => tf.where(tf.broadcastTo(tf.reshape(mask, [n!, ...a.shape.slice(1).map(() => 1)]), a.shape), a, b)) as T;
  }
  return tf.engine().runKernel(SELECT_ROWS_KERNEL, { mask, a, b }) as T;
}
