/**
 * relu(a + b) for same-shape a and b (a residual block's join) as one op: on the native backend one
 * pass instead of Add and Relu (native/src/bn_relu.cc), the same bits (a float add, then max(., 0));
 * its gradient is ReLU's on the output (y > 0 exactly where a + b > 0), handed to both inputs as
 * tfjs' Add gradient hands its dy. Elsewhere, and for broadcasting shapes, tf.relu(tf.add(a, b)).
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';
import { RELU_GRAD_KERNEL } from './relu-grad.ts';

export const ADD_RELU_KERNEL = 'RfAddRelu';

export function addRelu<T extends Tensor>(a: T, b: T, route: 'auto' | 'composed' = 'auto'): T {
  const fused =
    route === 'auto' &&
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    tf.util.arraysEqual(a.shape, b.shape) &&
    tf.getKernel(ADD_RELU_KERNEL, tf.getBackend()) !== undefined &&
    tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined;
  if (fused) return tf.engine().runKernel(ADD_RELU_KERNEL, { a, b }) as T;
  return tf.tidy(() => tf.relu(tf.add(a, b))) as T;
}

const gradConfig: GradConfig = {
  kernelName: ADD_RELU_KERNEL,
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const g = Array.isArray(dy) ? dy[0]! : dy;
    const [y] = saved as [Tensor];
    const d = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x: y }) as Tensor;
    return { a: () => tf.reshape(d, y.shape), b: () => tf.reshape(d, y.shape) };
  },
};

let registered = false;

/** Idempotent. */
export function registerAddReluGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(gradConfig);
}
