/**
 * Training-mode batch norm followed by ReLU as one op: relu(batchNormTrain(x, ...).y) and the
 * batch statistics. On the native backend it is two fused kernels (native/src/bn_relu.cc) that
 * compute the same bits as batchNormTrain's kernels and the ReLU kernels they replace, saving a
 * full-size pass (and its buffer) forward and one backward per layer; elsewhere it is exactly the
 * two ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { batchNormTrain, type BatchNormTrainResult } from './batch-norm.ts';

export const BN_TRAIN_RELU_KERNEL = 'RfBatchNormTrainRelu';
export const BN_TRAIN_RELU_GRAD_KERNEL = 'RfBatchNormTrainReluGrad';

export function batchNormTrainRelu<T extends Tensor>(
  x: T,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  varianceEpsilon: number,
  route: 'auto' | 'composed' = 'auto',
): BatchNormTrainResult<T> {
  if (route === 'auto' && x.dtype === 'float32' && tf.getKernel(BN_TRAIN_RELU_KERNEL, tf.getBackend()) !== undefined) {
    const channels = x.shape[x.rank - 1];
    if (scale.shape[0] !== channels || offset.shape[0] !== channels) {
      throw new Error(
        `batchNormTrainRelu: scale ${JSON.stringify(scale.shape)} and offset ${JSON.stringify(offset.shape)} must have the ${channels} channels of x ${JSON.stringify(x.shape)}`,
      );
    }
    const attrs: NamedAttrMap = { varianceEpsilon };
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN_RELU_KERNEL, { x, scale, offset }, attrs) as Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const r = batchNormTrain(x, scale, offset, varianceEpsilon);
  const y = tf.relu(r.y);
  r.y.dispose();
  return { ...r, y };
}

/** ReLU's gradient (dy where y > 0) feeding batch norm's (RfBatchNormTrainGrad's formula). */
const gradConfig: GradConfig = {
  kernelName: BN_TRAIN_RELU_KERNEL,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [true, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [x, scale, y, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_RELU_GRAD_KERNEL, { dy, y, x, scale, mean, variance }, attrs) as Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

let registered = false;

/** Idempotent. */
export function registerBatchNormTrainReluGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(gradConfig);
}
