import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';

/**
 * relu's gradient through one kernel where the backend has it (native: one pass instead of
 * Step + Multiply, two full-size passes and allocations per ReLU); elsewhere tfjs' own formula,
 * dy * step(x).
 */
export const RELU_GRAD_KERNEL = 'RfReluGrad';

const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const g = dy as Tensor;
    const [x] = saved as [Tensor];
    if (g.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined) {
      return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x }) as Tensor };
    }
    return { x: () => tf.mul(g, tf.step(tf.cast(x, 'float32'))) };
  },
};

let registered = false;

/** Idempotent; replaces tfjs' Relu gradient for every backend with an equal one. */
export function registerReluGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(reluGradConfig);
}
