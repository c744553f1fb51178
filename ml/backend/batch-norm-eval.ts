/**
 * Eval-mode batch norm followed by ReLU, optionally with a residual add between them:
 * relu(batchNorm(x, mean, variance, offset, scale) [+ skip]), the pattern every ResNet block (and
 * the PTN's origin predictor) ends in. Composed it is three full-size passes and two intermediate
 * tensors; on native it is one kernel (native/src/bn_eval.cc) doing the same float operations in
 * the same order, so the values are the same bits. In evaluations of the demo's ResNet-50 and
 * G-ResNet those three passes were a fifth to a third of the forward pass.
 *
 * The gradient is the composed route's, computed by the same registered gradients in the same
 * order (ReLU's, then the residual add's identity, then FusedBatchNorm's), so input gradients
 * (PGD in eval mode, D_R construction) are unchanged bit for bit. ReLU's gradient is evaluated at
 * the output instead of the pre-activation: y > 0 exactly where the pre-activation is > 0.
 *
 * Other backends, and `setBatchNormEvalFusion(false)` (tests: the reference route), compose.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export const BN_EVAL_RELU_KERNEL = 'RfBatchNormEvalRelu';

let fusion = true;

/** Turns the fused kernel off (true: on, the default); returns the previous setting. */
export function setBatchNormEvalFusion(on: boolean): boolean {
  const was = fusion;
  fusion = on;
  return was;
}

/** The reference: tf.batchNorm, the add, tf.relu (what the models ran before the fused kernel). */
export function composedBatchNormRelu(
  x: tf.Tensor4D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  offset: tf.Tensor1D,
  scale: tf.Tensor1D,
  eps: number,
  skip?: tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.batchNorm(x, mean, variance, offset, scale, eps);
    return tf.relu(skip === undefined ? y : y.add(skip)) as tf.Tensor4D;
  });
}

/** relu(batchNorm(x, ...) [+ skip]) with per-channel statistics; differentiable. */
export function batchNormRelu(
  x: tf.Tensor4D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  offset: tf.Tensor1D,
  scale: tf.Tensor1D,
  eps: number,
  skip?: tf.Tensor4D,
): tf.Tensor4D {
  const c = x.shape[3];
  const fusable =
    fusion &&
    tf.getKernel(BN_EVAL_RELU_KERNEL, tf.getBackend()) !== undefined &&
    [x, mean, variance, offset, scale, skip].every((t) => t === undefined || t.dtype === 'float32') &&
    [mean, variance, offset, scale].every((t) => t.rank === 1 && t.shape[0] === c) &&
    (skip === undefined || skip.shape.join() === x.shape.join());
  if (!fusable) return composedBatchNormRelu(x, mean, variance, offset, scale, eps, skip);
  const attrs: NamedAttrMap = { varianceEpsilon: eps };
  const inputs: tf.NamedTensorMap = skip === undefined ? { x, mean, variance, offset, scale } : { x, mean, variance, offset, scale, skip };
  return tf.engine().runKernel(BN_EVAL_RELU_KERNEL, inputs, attrs) as tf.Tensor4D;
}

const gradConfig: GradConfig = {
  kernelName: BN_EVAL_RELU_KERNEL,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, mean, variance, scale, y] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const reluGrad = tf.getGradient('Relu');
    const bnGrad = tf.getGradient('FusedBatchNorm');
    if (reluGrad === undefined || bnGrad === undefined) throw new Error(`${BN_EVAL_RELU_KERNEL}: Relu or FusedBatchNorm has no gradient registered`);
    const dPre = reluGrad.gradFunc(dy, [y], {}).x!();
    const bn = bnGrad.gradFunc(dPre, [x, mean, variance, scale], attrs);
    return {
      x: () => bn.x!(),
      mean: () => bn.mean!(),
      variance: () => bn.variance!(),
      scale: () => bn.scale!(),
      offset: () => bn.offset!(),
      // The add's gradient for a same-shape operand: dy reshaped (tfjs' Add gradient).
      skip: () => tf.reshape(dPre, x.shape),
    };
  },
};

let registered = false;

/** Idempotent: the op's gradient (the kernel is the native backend's). */
export function registerBatchNormEvalRelu(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(gradConfig);
}
