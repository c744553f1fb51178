/**
 * The STN/PTN resampler (forward and both gradients), the PTN's circular row padding (and its
 * gradient) and the models' input normalisation (../clip-normalize.ts) as native kernels
 * (native/src/resample.cc). The TypeScript loop kernels (../bilinear-sample.ts, ../wrap-rows.ts)
 * stay for the cpu backend and are the reference the native ones equal bit for bit (tested). As
 * TypeScript, the sampler took 18-23 % of an STN or PTN forward pass, and the two gradients about a
 * fifth of a PTN training step (docs/performance.md).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { cpuKernel, guardSharing, type NativeBackend } from './backend.ts';
import {
  BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL,
  BILINEAR_SAMPLE_GRAD_POINTS_KERNEL,
  BILINEAR_SAMPLE_KERNEL,
  sampleGeometry,
  sampleGradGeometry,
} from '../bilinear-sample.ts';
import { WRAP_ROWS_GRAD_KERNEL, WRAP_ROWS_KERNEL } from '../wrap-rows.ts';
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

/** The gradient kernels' inputs, shapes checked as the TypeScript kernels check them, and dtypes. */
function sampleGradInputs(kernel: string, inputs: NamedTensorInfoMap) {
  const checked = sampleGradGeometry(kernel, inputs);
  for (const name of ['dy', 'image', 'xs', 'ys'] as const) {
    if (checked[name].dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${checked[name].dtype}`);
  }
  return checked;
}

const sampleGradPoints: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { dy, image, xs, ys, g } = sampleGradInputs(BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, inputs);
  const dxs = b.output([...xs.shape]);
  const dys = b.output([...ys.shape]);
  b.addon.bilinearSampleGradPoints(b.f32(image), g.n, g.h, g.w, g.c, b.f32(xs), b.f32(ys), b.f32(dy), dxs.values, dys.values);
  return [dxs.info, dys.info];
};

const sampleGradImage: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { dy, image, xs, ys, g } = sampleGradInputs(BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL, inputs);
  const dImage = b.output([...image.shape]);
  b.addon.bilinearSampleGradImage(g.n, g.h, g.w, g.c, b.f32(xs), b.f32(ys), b.f32(dy), dImage.values);
  return dImage.info;
};

const wrapRowsGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { dy } = inputs as { dy: TensorInfo };
  const { pad } = attrs as NamedAttrMap as { pad: number };
  if (dy.dtype !== 'float32') throw new Error(`${WRAP_ROWS_GRAD_KERNEL}: dy must be float32, got ${dy.dtype}`);
  const [n, ho, w, c] = dy.shape as [number, number, number, number];
  const h = ho - 2 * pad;
  const dx = b.output([n, h, w, c]);
  b.addon.wrapRowsGrad(b.f32(dy), n, h, w * c, pad, dx.values);
  return dx.info;
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

/**
 * Non-contiguous float32 slices as row copies: tfjs' cpu kernel moves them element by element
 * through index arithmetic (0.1-0.3 ms for the STN's six [N, 1] slices of theta per batch).
 * Contiguous slices, and other dtypes, go to the cpu kernel (it returns a view).
 */
function stridedSlice(cpu: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    if (x.dtype !== 'float32' || x.shape.length === 0) return cpu(args);
    const [b0, s0] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, b0, s0);
    if (tf.slice_util.isSliceContinous(x.shape, b0, s0) || s0.some((d) => d === 0)) return cpu(args);
    const b = args.backend as NativeBackend;
    const src = b.f32(x);
    const out = b.output([...s0]);
    const rank = x.shape.length;
    const strides = tf.util.computeStrides(x.shape);
    const inner = s0[rank - 1]!;
    const outer = s0.slice(0, -1);
    const index = new Array<number>(rank - 1).fill(0);
    let o = 0;
    for (;;) {
      let at = b0[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) at += (b0[d]! + index[d]!) * strides[d]!;
      out.values.set(src.subarray(at, at + inner), o);
      o += inner;
      let d = rank - 2;
      while (d >= 0 && ++index[d]! === outer[d]!) index[d--] = 0;
      if (d < 0) break;
    }
    return out.info;
  };
}

export function resampleKernelConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: BILINEAR_SAMPLE_KERNEL, backendName, kernelFunc: sample },
    { kernelName: BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, backendName, kernelFunc: sampleGradPoints },
    { kernelName: BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL, backendName, kernelFunc: sampleGradImage },
    { kernelName: WRAP_ROWS_KERNEL, backendName, kernelFunc: wrapRows },
    { kernelName: WRAP_ROWS_GRAD_KERNEL, backendName, kernelFunc: wrapRowsGrad },
    { kernelName: CLIP_NORMALIZE_KERNEL, backendName, kernelFunc: clipNormalize },
    { kernelName: 'Slice', backendName, kernelFunc: stridedSlice(guardSharing(cpuKernel('Slice'))) },
  ];
}
