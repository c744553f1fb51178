/**
 * clipByValue's gradient as one loop kernel on cpu and native: dx = dy where lo <= x <= hi, else 0.
 * tfjs computes it as where(logicalAnd(greaterEqual(x, lo), lessEqual(x, hi)), dy, zerosLike(dy)):
 * three comparison passes, a logical and and a select, all cpu kernels element by element with a
 * boolean tensor each. Every model clips its input first, so every input gradient (PGD in f_A's
 * adversarial training and in evaluations, D_R construction) paid for it: 11 % of f_A's training.
 * The kernel picks dy or +0 by the same comparisons (lo and hi rounded to float32, as tfjs makes
 * them float32 scalars; NaN fails both), so the values are the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipByValueAttrs, GradConfig, KernelBackend, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const CLIP_GRAD_KERNEL = 'RfClipGrad';

const clipGradKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const { clipValueMin, clipValueMax } = args.attrs as unknown as ClipByValueAttrs;
  const g = readF32(backend, dy, CLIP_GRAD_KERNEL, 'dy');
  const v = readF32(backend, x, CLIP_GRAD_KERNEL, 'x');
  if (g.length !== v.length) throw new Error(`${CLIP_GRAD_KERNEL}: dy [${dy.shape}] and x [${x.shape}] differ`);
  const lo = Math.fround(clipValueMin);
  const hi = Math.fround(clipValueMax);
  const { info, values: out } = allocF32(backend, [...x.shape], false);
  for (let i = 0; i < v.length; i++) {
    const t = v[i]!;
    out[i] = t >= lo && t <= hi ? g[i]! : 0;
  }
  return info;
};

const clipByValueGrad: GradConfig = {
  kernelName: 'ClipByValue',
  inputsToSave: ['x'],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [x] = saved as [Tensor];
    const { clipValueMin, clipValueMax } = attrs as unknown as ClipByValueAttrs;
    if (dy.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(CLIP_GRAD_KERNEL, tf.getBackend()) !== undefined) {
      return { x: () => tf.engine().runKernel(CLIP_GRAD_KERNEL, { dy, x }, attrs) as Tensor };
    }
    // tfjs' own formula elsewhere.
    return { x: () => tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), dy, tf.zerosLike(dy)) };
  },
};

let registered = false;

/** Idempotent: the kernel for the loop backends, and clipByValue's gradient (for every backend). */
export function registerClipGrad(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels([[CLIP_GRAD_KERNEL, clipGradKernel]], clipByValueGrad);
}
