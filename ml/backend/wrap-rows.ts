/**
 * Circular padding of the row axis (the PTN's angle axis: row -1 is row H-1): x [N, H, W, C] ->
 * [N, H + 2p, W, C]. As tfjs ops it is two strided slices and a concat, which the cpu kernels copy
 * element by element; on 2 cores a PTN-ResNet-18 spent most of its forward pass there. The loop
 * kernels copy whole rows (forward) and add the wrapped rows back (gradient).
 *
 * Registered for cpu and native (tensors are JavaScript arrays); other backends use the slices.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const WRAP_ROWS_KERNEL = 'RfWrapRows';
export const WRAP_ROWS_GRAD_KERNEL = 'RfWrapRowsGrad';

interface WrapAttrs {
  readonly pad: number;
}

/** Source row (0..h-1) of padded row r (0..h+2p-1). */
const sourceRow = (r: number, h: number, pad: number): number => (((r - pad) % h) + h) % h;

const wrapKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { x } = args.inputs as { x: TensorInfo };
  const { pad } = args.attrs as unknown as WrapAttrs;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const src = readF32(backend, x, WRAP_ROWS_KERNEL, 'x');
  const row = w * c;
  const ho = h + 2 * pad;
  const { info, values: out } = allocF32(backend, [n, ho, w, c], false);
  for (let b = 0; b < n; b++) {
    // Three contiguous blocks per image: its last pad rows, all its rows, its first pad rows.
    const image = src.subarray(b * h * row, (b + 1) * h * row);
    const o = b * ho * row;
    out.set(image.subarray((h - pad) * row), o);
    out.set(image, o + pad * row);
    out.set(image.subarray(0, pad * row), o + (pad + h) * row);
  }
  return info;
};

const wrapGradKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { dy } = args.inputs as { dy: TensorInfo };
  const { pad } = args.attrs as unknown as WrapAttrs;
  const [n, ho, w, c] = dy.shape as [number, number, number, number];
  const h = ho - 2 * pad;
  const g = readF32(backend, dy, WRAP_ROWS_GRAD_KERNEL, 'dy');
  const row = w * c;
  const { info, values: dx } = allocF32(backend, [n, h, w, c], true);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < ho; r++) {
      const s = (b * ho + r) * row;
      const d = (b * h + sourceRow(r, h, pad)) * row;
      for (let k = 0; k < row; k++) dx[d + k] = dx[d + k]! + g[s + k]!;
    }
  }
  return info;
};

const wrapGrad: GradConfig = {
  kernelName: WRAP_ROWS_KERNEL,
  gradFunc: (dys: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    return { x: () => tf.engine().runKernel(WRAP_ROWS_GRAD_KERNEL, { dy }, attrs) as Tensor };
  },
};

/** The same padding from slices and a concat (any backend; the loop kernels' reference). */
export function composedWrapRows(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const h = x.shape[1];
    const top = x.slice([0, h - pad, 0, 0], [-1, pad, -1, -1]);
    const bottom = x.slice([0, 0, 0, 0], [-1, pad, -1, -1]);
    return tf.concat([top, x, bottom], 1) as tf.Tensor4D;
  });
}

/** Rows wrapped around by `pad` on both ends (0 < pad <= H); differentiable. */
export function wrapRows(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  const h = x.shape[1];
  if (!Number.isInteger(pad) || pad < 1 || pad > h) throw new Error(`wrapRows: circular padding ${pad} must be an integer in 1..${h} (the rows)`);
  if (x.dtype === 'float32' && tf.getKernel(WRAP_ROWS_KERNEL, tf.getBackend()) !== undefined) {
    const attrs: NamedAttrMap = { pad };
    return tf.engine().runKernel(WRAP_ROWS_KERNEL, { x }, attrs) as tf.Tensor4D;
  }
  return composedWrapRows(x, pad);
}

let registered = false;

/** Idempotent: the kernels for the loop backends, and the op's gradient. */
export function registerWrapRows(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels(
    [
      [WRAP_ROWS_KERNEL, wrapKernel],
      [WRAP_ROWS_GRAD_KERNEL, wrapGradKernel],
    ],
    wrapGrad,
  );
}
