/**
 * Native kernels of the group batch norm's fused steps (ml/backend/group-batch-norm.ts says what
 * each computes and which tfjs ops it stands for; native/src/group_bn.cc runs them).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from './backend.ts';
import { GBN_AFFINE_GRAD_KERNEL, GBN_AFFINE_KERNEL, GBN_CENTRE_GRAD_KERNEL, GBN_CENTRE_KERNEL } from '../group-batch-norm.ts';

/** rows x cols of a [rows, c] tensor, checked against the [c] vectors that go with it. */
function rowsCols(kernel: string, x: TensorInfo, ...vectors: TensorInfo[]): [number, number] {
  const [rows, cols] = x.shape;
  if (x.shape.length !== 2 || rows === undefined || cols === undefined || vectors.some((v) => v.shape.length !== 1 || v.shape[0] !== cols)) {
    throw new Error(`${kernel}: expected [rows, c] and [c] inputs, got ${[x, ...vectors].map((t) => `[${t.shape.join(',')}]`).join(' ')}`);
  }
  return [rows, cols];
}

function groupsOf(kernel: string, attrs: unknown, cols: number): number {
  const g = (attrs as { groups?: number }).groups;
  if (!(typeof g === 'number' && Number.isInteger(g) && g > 0 && cols % g === 0)) throw new Error(`${kernel}: bad groups ${String(g)} for ${cols} columns`);
  return g;
}

const centre: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const [rows, cols] = rowsCols(GBN_CENTRE_KERNEL, x);
  const groups = groupsOf(GBN_CENTRE_KERNEL, attrs, cols);
  const centred = b.output([rows, cols]);
  const sqSum = b.output([cols]);
  const mean = b.output([cols / groups]);
  b.addon.gbnCentre(b.f32(x), rows, cols, groups, centred.values, sqSum.values, mean.values);
  return [centred.info, sqSum.info, mean.info];
};

const centreGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { dCentred, centred, dSq } = inputs as Record<'dCentred' | 'centred' | 'dSq', TensorInfo>;
  const [rows, cols] = rowsCols(GBN_CENTRE_GRAD_KERNEL, centred, dSq);
  rowsCols(GBN_CENTRE_GRAD_KERNEL, dCentred, dSq);
  const groups = groupsOf(GBN_CENTRE_GRAD_KERNEL, attrs, cols);
  const dx = b.output([rows, cols]);
  b.addon.gbnCentreGrad(b.f32(dCentred), b.f32(centred), b.f32(dSq), rows, cols, groups, dx.values);
  return dx.info;
};

const affine: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { centred, s, b: shift } = inputs as Record<'centred' | 's' | 'b', TensorInfo>;
  const [rows, cols] = rowsCols(GBN_AFFINE_KERNEL, centred, s, shift);
  const y = b.output([rows, cols]);
  const relu = (attrs as { relu?: boolean }).relu === true ? 1 : 0;
  b.addon.gbnAffine(b.f32(centred), b.f32(s), b.f32(shift), rows, cols, relu, y.values);
  return y.info;
};

const NO_MASK = new Float32Array(0);

const affineGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { dy, centred, s, mask } = inputs as Record<'dy' | 'centred' | 's', TensorInfo> & { mask?: TensorInfo };
  const [rows, cols] = rowsCols(GBN_AFFINE_GRAD_KERNEL, centred, s);
  rowsCols(GBN_AFFINE_GRAD_KERNEL, dy, s);
  const dCentred = b.output([rows, cols]);
  const dS = b.output([cols]);
  const dB = b.output([cols]);
  const m = mask === undefined ? NO_MASK : b.f32(mask);
  b.addon.gbnAffineGrad(b.f32(dy), b.f32(centred), b.f32(s), m, rows, cols, dCentred.values, dS.values, dB.values);
  return [dCentred.info, dS.info, dB.info];
};

export function groupBnKernelConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: GBN_CENTRE_KERNEL, backendName, kernelFunc: centre },
    { kernelName: GBN_CENTRE_GRAD_KERNEL, backendName, kernelFunc: centreGrad },
    { kernelName: GBN_AFFINE_KERNEL, backendName, kernelFunc: affine },
    { kernelName: GBN_AFFINE_GRAD_KERNEL, backendName, kernelFunc: affineGrad },
  ];
}
