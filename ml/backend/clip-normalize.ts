/**
 * clip(x, lo, hi), minus a per-channel mean, divided by a per-channel deviation: the input
 * normalisation every model starts with (ml/models/layers.ts' normalizeInput), as one op. Composed
 * it is three full-size passes (ClipByValue, Sub, RealDiv) and two intermediates, twice per STN and
 * PTN forward pass; on native it is one kernel (native/src/resample.cc) rounding each step to
 * float32 as those kernels do, so the values are the same bits.
 *
 * The gradient is the composed route's: the registered RealDiv, Sub and ClipByValue gradients in
 * the order the tape ran them backwards, so input gradients (PGD, D_R construction, adversarial
 * training) are unchanged bit for bit. Other backends, and `setClipNormalizeFusion(false)` (tests:
 * the reference route), compose.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export const CLIP_NORMALIZE_KERNEL = 'RfClipNormalize';

let fusion = true;

/** Turns the fused kernel off (true: on, the default); returns the previous setting. */
export function setClipNormalizeFusion(on: boolean): boolean {
  const was = fusion;
  fusion = on;
  return was;
}

/** The reference: clipByValue, sub, div (what the models ran before the fused kernel). */
export function composedClipNormalize(x: tf.Tensor4D, lo: number, hi: number, mean: tf.Tensor1D, std: tf.Tensor1D): tf.Tensor4D {
  return x.clipByValue(lo, hi).sub(mean).div(std) as tf.Tensor4D;
}

/** (clip(x, lo, hi) - mean) / std over the channel (last) axis; differentiable in x. */
export function clipNormalize(x: tf.Tensor4D, lo: number, hi: number, mean: tf.Tensor1D, std: tf.Tensor1D): tf.Tensor4D {
  const c = x.shape[3];
  const fusable =
    fusion &&
    tf.getKernel(CLIP_NORMALIZE_KERNEL, tf.getBackend()) !== undefined &&
    [x, mean, std].every((t) => t.dtype === 'float32') &&
    [mean, std].every((t) => t.rank === 1 && t.shape[0] === c);
  if (!fusable) return composedClipNormalize(x, lo, hi, mean, std);
  const attrs: NamedAttrMap = { clipValueMin: lo, clipValueMax: hi };
  return tf.engine().runKernel(CLIP_NORMALIZE_KERNEL, { x, mean, std }, attrs) as tf.Tensor4D;
}

/** A registered gradient, or a clear error naming the missing one. */
function gradientOf(kernel: string): GradConfig {
  const g = tf.getGradient(kernel);
  if (g === undefined) throw new Error(`${CLIP_NORMALIZE_KERNEL}: ${kernel} has no gradient registered`);
  return g;
}

const gradConfig: GradConfig = {
  kernelName: CLIP_NORMALIZE_KERNEL,
  inputsToSave: ['x', 'mean', 'std'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, mean, std] = saved as [Tensor, Tensor, Tensor];
    const { clipValueMin, clipValueMax } = attrs as { clipValueMin: number; clipValueMax: number };
    // The intermediates the composed route's gradients read (only their shapes, for x's gradient).
    const clipped = () => tf.clipByValue(x, clipValueMin, clipValueMax);
    const centred = () => tf.sub(clipped(), mean);
    const div = (a: Tensor) => gradientOf('RealDiv').gradFunc(dy, [a, std], {});
    const sub = (d: Tensor, a: Tensor) => gradientOf('Sub').gradFunc(d, [a, mean], {});
    return {
      // RealDiv's and Sub's gradients for their first operand read only its shape, x's shape.
      x: () => gradientOf('ClipByValue').gradFunc(sub(div(x).a!(), x).a!(), [x], attrs).x!(),
      mean: () => sub(div(x).a!(), x).b!(),
      std: () => div(centred()).b!(),
    };
  },
};

let registered = false;

/** Idempotent: the op's gradient (the kernel is the native backend's). */
export function registerClipNormalize(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(gradConfig);
}
