/** The native kernels of batchNormTrainRelu and addRelu (ml/backend/batch-norm-relu.ts, add-relu.ts; native/src/bn_relu.cc). */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from './backend.ts';
import { BN_TRAIN_RELU_GRAD_KERNEL, BN_TRAIN_RELU_KERNEL } from '../batch-norm-relu.ts';
import { ADD_RELU_KERNEL } from '../add-relu.ts';

/** [rows, channels] view of a channels-last tensor. */
function rowsByChannels(x: TensorInfo): [number, number] {
  const c = x.shape[x.shape.length - 1] ?? 1;
  return [x.shape.reduce((p, d) => p * d, 1) / c, c];
}

const bnTrainRelu: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x, scale, offset } = inputs as Record<'x' | 'scale' | 'offset', TensorInfo>;
  const [rows, c] = rowsByChannels(x);
  const y = b.output([...x.shape]);
  const mean = b.output([c]);
  const variance = b.output([c]);
  const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
  b.addon.bnTrainRelu(b.f32(x), rows, c, b.f32(scale), b.f32(offset), eps, y.values, mean.values, variance.values);
  return [y.info, mean.info, variance.info];
};

const bnTrainReluGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { dy, y, x, scale, mean, variance } = inputs as Record<'dy' | 'y' | 'x' | 'scale' | 'mean' | 'variance', TensorInfo>;
  const [rows, c] = rowsByChannels(x);
  const dx = b.output([...x.shape]);
  const dscale = b.output([c]);
  const doffset = b.output([c]);
  const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
  b.addon.bnTrainReluGrad(b.f32(dy), b.f32(y), b.f32(x), rows, c, b.f32(scale), b.f32(mean), b.f32(variance), eps, dx.values, dscale.values, doffset.values);
  return [dx.info, dscale.info, doffset.info];
};

const addRelu: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { a, b: other } = inputs as { a: TensorInfo; b: TensorInfo };
  if (!a.shape.every((d, i) => d === other.shape[i]) || a.shape.length !== other.shape.length) {
    throw new Error(`${ADD_RELU_KERNEL}: shapes [${a.shape}] and [${other.shape}] differ`);
  }
  const out = b.output([...a.shape]);
  b.addon.addRelu(b.f32(a), b.f32(other), out.values);
  return out.info;
};

export function bnReluKernelConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: BN_TRAIN_RELU_KERNEL, backendName, kernelFunc: bnTrainRelu },
    { kernelName: BN_TRAIN_RELU_GRAD_KERNEL, backendName, kernelFunc: bnTrainReluGrad },
    { kernelName: ADD_RELU_KERNEL, backendName, kernelFunc: addRelu },
  ];
}
