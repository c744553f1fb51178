import * as tf from '@tensorflow/tfjs';
import type { FusedBatchNormAttrs, GradConfig, Tensor } from '@tensorflow/tfjs';

/**
 * tf.batchNorm's gradient without Tile. tfjs' own gradient tiles rsqrt(variance) to the full
 * activation shape before multiplying (13 % of a wasm ResNet step); broadcasting gives the same
 * values with one pass fewer over the largest tensor. The formulas are those of
 * y = (x - mean) * rsqrt(var + eps) * scale + offset.
 */
export const batchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const g = dy as Tensor;
    const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor): Tensor => tf.reshape(reductionAxes.length > 0 ? tf.sum(t, reductionAxes) : t, mean.shape);
    const scaleValue = scale ?? tf.scalar(1);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const dyScaled = () => tf.mul(g, scaleValue);
    const xMinusMean = () => tf.sub(x, mean);
    return {
      x: () => tf.mul(g, tf.mul(rstd, scaleValue)),
      mean: () => reduce(tf.mul(dyScaled(), tf.neg(rstd))),
      variance: () => reduce(tf.mul(tf.mul(dyScaled(), xMinusMean()), tf.mul(tf.pow(rstd, tf.scalar(3)), tf.scalar(-0.5)))),
      scale: () => reduce(tf.mul(g, tf.mul(xMinusMean(), rstd))),
      offset: () => reduce(g),
    };
  },
};

let registered = false;

/** Idempotent; applies to every backend (gradients are backend-independent in tfjs). */
export function registerBatchNormGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(batchNormGradConfig);
}
