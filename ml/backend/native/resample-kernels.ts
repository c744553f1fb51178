/**
 * The STN/PTN resampler's forward pass, the PTN's circular row padding and the models' input
 * normalisation (../clip-normalize.ts) as native kernels (native/src/resample.cc). The TypeScript loop kernels (../bilinear-sample.ts, ../wrap-rows.ts)
 * stay for the cpu backend and are the reference the native ones equal bit for bit (tested); the
 * sampler's gradient is still the TypeScript kernel on both. In an STN or PTN evaluation the
 * sampler was 18-23 % of the forward pass in TypeScript.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from './backend.ts';
import { BILINEAR_SAMPLE_KERNEL, sampleGeometry } from '../bilinear-sample.ts';
import { WRAP_ROWS_KERNEL } from '../wrap-rows.ts';
import { CLIP_NORMALIZE_KERNEL } from '../clip-normalize.ts';

const sample: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { image, xs, ys } = inputs as { image: TensorInfo; xs: TensorInfo; ys: TensorInfo };
  const g = sampleGeometry(BILINEAR_SAMPLE_KERNEL, image, xs, ys);
  for (const [name, t] of [
    ['image', image],
    ['xs', xs],
    ['ys', ys],
  ] as const) {
    if (t.dtype !== 'float32') throw new Error(`${BILINEAR_SAMPLE_KERNEL}: ${name} must be float32, got ${t.dtype}`);
  }
  const out = b.output([...xs.shape, g.c]);
  b.addon.bilinearSample(b.f32(image), g.n, g.h, g.w, g.c, b.f32(xs), b.f32(ys), out.values);
  return out.info;
};

const wrapRows: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const { pad } = attrs as NamedAttrMap as { pad: number };
  if (x.dtype !== 'float32') throw new Error(`${WRAP_ROWS_KERNEL}: x must be float32, got ${x.dtype}`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = b.output([n, h + 2 * pad, w, c]);
  b.addon.wrapRows(b.f32(x), n, h, w * c, pad, out.values);
  return out.info;
};

const clipNormalize: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x, mean, std } = inputs as { x: TensorInfo; mean: TensorInfo; std: TensorInfo };
  const { clipValueMin, clipValueMax } = attrs as NamedAttrMap as { clipValueMin: number; clipValueMax: number };
  if ([x, mean, std].some((t) => t.dtype !== 'float32')) throw new Error(`${CLIP_NORMALIZE_KERNEL}: x, mean and std must be float32`);
  const out = b.output([...x.shape]);
  b.addon.clipNormalize(b.f32(x), clipValueMin, clipValueMax, b.f32(mean), b.f32(std), out.values);
  return out.info;
};

export function resampleKernelConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: BILINEAR_SAMPLE_KERNEL, backendName, kernelFunc: sample },
    { kernelName: WRAP_ROWS_KERNEL, backendName, kernelFunc: wrapRows },
    { kernelName: CLIP_NORMALIZE_KERNEL, backendName, kernelFunc: clipNormalize },
  ];
}
