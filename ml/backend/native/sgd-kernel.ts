/** The native SGD step (ml/backend/sgd-update.ts; native/src/sgd.cc). */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from './backend.ts';
import { SGD_UPDATE_KERNEL, type SgdUpdateAttrs } from '../sgd-update.ts';

const sgdUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { w, g, v } = inputs as Record<'w' | 'g' | 'v', TensorInfo>;
  const { lr, momentum, weightDecay } = attrs as unknown as SgdUpdateAttrs;
  const wOut = b.output([...w.shape]);
  const vOut = b.output([...w.shape]);
  b.addon.sgdUpdate(b.f32(w), b.f32(g), b.f32(v), lr, momentum, weightDecay, wOut.values, vOut.values);
  return [wOut.info, vOut.info];
};

export function sgdKernelConfig(backendName: string): KernelConfig {
  return { kernelName: SGD_UPDATE_KERNEL, backendName, kernelFunc: sgdUpdate };
}
