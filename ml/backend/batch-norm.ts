/**
 * Training-mode batch normalisation as one op: normalise by the batch statistics over every axis
 * but the last (channels), then scale and shift; also returns those statistics for the running
 * averages. On the native backend it runs as two fused kernels (forward, gradient) instead of the
 * ~20 full-size elementwise passes of tf.moments + tf.batchNorm and their gradients; elsewhere it
 * is exactly tf.moments + tf.batchNorm.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export const BN_TRAIN_KERNEL = 'RfBatchNormTrain';
export const BN_TRAIN_GRAD_KERNEL = 'RfBatchNormTrainGrad';

export interface BatchNormTrainResult<T extends Tensor> {
  /** (x - mean) / sqrt(variance + eps) * scale + offset. */
  readonly y: T;
  /** Per-channel batch mean [C]. Not differentiable: use it for running statistics only. */
  readonly mean: tf.Tensor1D;
  /** Per-channel biased batch variance [C] (divided by N·H·W). Not differentiable either. */
  readonly variance: tf.Tensor1D;
}

export function batchNormTrain<T extends Tensor>(x: T, scale: tf.Tensor1D, offset: tf.Tensor1D, varianceEpsilon: number): BatchNormTrainResult<T> {
  const channels = x.shape[x.rank - 1];
  if (scale.shape[0] !== channels || offset.shape[0] !== channels) {
    throw new Error(
      `batchNormTrain: scale ${JSON.stringify(scale.shape)} and offset ${JSON.stringify(offset.shape)} must have the ${channels} channels of x ${JSON.stringify(x.shape)}`,
    );
  }
  if (x.dtype === 'float32' && tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()) !== undefined) {
    const attrs: NamedAttrMap = { varianceEpsilon };
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN_KERNEL, { x, scale, offset }, attrs) as Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, offset, scale, varianceEpsilon) as unknown as T;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

const bnTrainGrad: GradConfig = {
  kernelName: BN_TRAIN_KERNEL,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [x, scale, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor];
    const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_GRAD_KERNEL, { dy, x, scale, mean, variance }, attrs) as Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

let registered = false;

/** Idempotent. */
export function registerBatchNormTrainGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(bnTrainGrad);
}
