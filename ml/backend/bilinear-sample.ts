/**
 * Bilinear sampling (the STN's and PTN's resampler) as two kernels, forward and gradient, written as
 * plain loops over the tensors' values. Composed from tfjs ops (ml/models/sampler.ts) the same
 * computation is ~40 full-size passes and four gathers, which the cpu kernels run element by element
 * in JavaScript: on 2 cores an STN-ResNet-18 spent 97 % of its forward pass there. One loop does the
 * forward in 4 reads per output value.
 *
 * Registered for the backends whose tensors are JavaScript arrays (cpu, native); elsewhere (wasm,
 * tfjs-node, WebGL) the composed op runs. Both give the same values and gradients (tested).
 *
 * Semantics, shared with the composed op: pixel (row i, column j) is at (x, y) = (j, i); each of
 * the four corners (floor(x) + dx, floor(y) + dy) contributes its bilinear weight times its pixel
 * when it lies inside the image and nothing otherwise. The derivative in x or y is that of the
 * weights, with the right derivative at exact integers.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelFunc, NamedTensorInfoMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const BILINEAR_SAMPLE_KERNEL = 'RfBilinearSample';
export const BILINEAR_SAMPLE_GRAD_POINTS_KERNEL = 'RfBilinearSampleGradPoints';
export const BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL = 'RfBilinearSampleGradImage';

export interface SampleGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  /** Sample points per image (Ho * Wo). */
  readonly per: number;
}

/** The sampler's shapes, checked (shared with the native kernel). */
export function sampleGeometry(kernel: string, image: TensorInfo, xs: TensorInfo, ys: TensorInfo): SampleGeometry {
  const [n, h, w, c] = image.shape as [number, number, number, number];
  if (image.shape.length !== 4 || xs.shape.length !== 3 || xs.shape.join() !== ys.shape.join() || xs.shape[0] !== n) {
    throw new Error(`${kernel}: image [${image.shape}], xs [${xs.shape}], ys [${ys.shape}] do not agree`);
  }
  return { n, h, w, c, per: xs.shape[1]! * xs.shape[2]! };
}

/**
 * Calls `visit(pixelRow, weight, dWeight/dx, dWeight/dy)` for each corner of sample point
 * (x, y) of image b that lies inside the image; pixelRow indexes the image viewed as [N*H*W, C].
 */
function forEachCorner(g: SampleGeometry, b: number, x: number, y: number, visit: (row: number, weight: number, dwdx: number, dwdy: number) => void): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  for (let dy = 0; dy < 2; dy++) {
    const yi = y0 + dy;
    if (yi < 0 || yi > g.h - 1) continue;
    const wy = dy ? fy : 1 - fy;
    for (let dx = 0; dx < 2; dx++) {
      const xi = x0 + dx;
      if (xi < 0 || xi > g.w - 1) continue;
      const wx = dx ? fx : 1 - fx;
      visit((b * g.h + yi) * g.w + xi, wx * wy, dx ? wy : -wy, dy ? wx : -wx);
    }
  }
}

/** forEachCorner over every sample point, in order; `o` is the point's first value in [N * per, C] order. */
function forEachPointCorner(g: SampleGeometry, px: Float32Array, py: Float32Array, visit: (o: number, row: number, weight: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let p = 0; p < g.per; p++) {
      const q = b * g.per + p;
      forEachCorner(g, b, px[q]!, py[q]!, (row, weight) => visit(q * g.c, row, weight));
    }
  }
}

const sampleKernel: KernelFunc = (args) => {
  const { inputs } = args;
  const backend = args.backend as KernelBackend;
  const { image, xs, ys } = inputs as { image: TensorInfo; xs: TensorInfo; ys: TensorInfo };
  const k = BILINEAR_SAMPLE_KERNEL;
  const g = sampleGeometry(k, image, xs, ys);
  const src = readF32(backend, image, k, 'image');
  const px = readF32(backend, xs, k, 'xs');
  const py = readF32(backend, ys, k, 'ys');
  const { info, values: out } = allocF32(backend, [...xs.shape, g.c], true);
  const c = g.c;
  forEachPointCorner(g, px, py, (o, row, weight) => {
    const s = row * c;
    for (let ch = 0; ch < c; ch++) out[o + ch] = out[o + ch]! + weight * src[s + ch]!;
  });
  return info;
};

/** The gradient kernels' inputs (dy, image, xs, ys), shapes checked (shared with the native kernels): dy is [...xs.shape, c]. */
export function sampleGradGeometry(kernel: string, inputs: NamedTensorInfoMap) {
  const { dy, image, xs, ys } = inputs as { dy: TensorInfo; image: TensorInfo; xs: TensorInfo; ys: TensorInfo };
  const g = sampleGeometry(kernel, image, xs, ys);
  if (dy.shape.join() !== [...xs.shape, g.c].join()) throw new Error(`${kernel}: dy [${dy.shape}] is not [${[...xs.shape, g.c]}]`);
  return { dy, image, xs, ys, g };
}

/** The TypeScript gradient kernels' common reads: dy and the sample points' coordinates. */
function gradInputs(kernel: string, args: Parameters<KernelFunc>[0]) {
  const backend = args.backend as KernelBackend;
  const { dy, image, xs, ys, g } = sampleGradGeometry(kernel, args.inputs);
  return {
    backend,
    image,
    xs,
    ys,
    g,
    grad: readF32(backend, dy, kernel, 'dy'),
    px: readF32(backend, xs, kernel, 'xs'),
    py: readF32(backend, ys, kernel, 'ys'),
  };
}

/** d/dxs and d/dys: per point, the corners' pixel rows dotted with dy, times dWeight/dx and dWeight/dy. */
const sampleGradPointsKernel: KernelFunc = (args) => {
  const k = BILINEAR_SAMPLE_GRAD_POINTS_KERNEL;
  const { backend, image, xs, ys, g, grad, px, py } = gradInputs(k, args);
  const src = readF32(backend, image, k, 'image');
  const dxs = allocF32(backend, xs.shape, false);
  const dys = allocF32(backend, ys.shape, false);
  const c = g.c;
  for (let b = 0; b < g.n; b++) {
    for (let p = 0; p < g.per; p++) {
      const q = b * g.per + p;
      const o = q * c;
      let sx = 0;
      let sy = 0;
      forEachCorner(g, b, px[q]!, py[q]!, (row, _weight, dwdx, dwdy) => {
        const s = row * c;
        let dot = 0;
        for (let ch = 0; ch < c; ch++) dot += grad[o + ch]! * src[s + ch]!;
        sx += dot * dwdx;
        sy += dot * dwdy;
      });
      dxs.values[q] = sx;
      dys.values[q] = sy;
    }
  }
  return [dxs.info, dys.info];
};

/** d/dimage: each point's dy spread over its corners by their weights (the image's values are not read). */
const sampleGradImageKernel: KernelFunc = (args) => {
  const k = BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL;
  const { backend, image, g, grad, px, py } = gradInputs(k, args);
  const dImage = allocF32(backend, image.shape, true);
  const out = dImage.values;
  const c = g.c;
  forEachPointCorner(g, px, py, (o, row, weight) => {
    const s = row * c;
    for (let ch = 0; ch < c; ch++) out[s + ch] = out[s + ch]! + weight * grad[o + ch]!;
  });
  return dImage.info;
};

/**
 * d/dxs and d/dys are computed at once (the localisation network's output always needs them); d/dimage
 * only when asked: tfjs calls an input's closure only when that input leads back to what is
 * differentiated, and in training the image is the data, so the scatter over the image is skipped.
 */
const sampleGrad: GradConfig = {
  kernelName: BILINEAR_SAMPLE_KERNEL,
  inputsToSave: ['image', 'xs', 'ys'],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[]) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [image, xs, ys] = saved as [Tensor, Tensor, Tensor];
    const [dx, dyy] = tf.engine().runKernel(BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, { dy, image, xs, ys }) as Tensor[];
    return {
      image: () => tf.engine().runKernel(BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL, { dy, image, xs, ys }) as Tensor,
      xs: () => dx!,
      ys: () => dyy!,
    };
  },
};

/** True when the current backend runs bilinear sampling as one loop kernel. */
export function hasBilinearSampleKernel(): boolean {
  return tf.getKernel(BILINEAR_SAMPLE_KERNEL, tf.getBackend()) !== undefined;
}

/** Runs the loop kernel (the caller checks hasBilinearSampleKernel first); differentiable. */
export function runBilinearSample(image: tf.Tensor4D, xs: tf.Tensor3D, ys: tf.Tensor3D): tf.Tensor4D {
  return tf.engine().runKernel(BILINEAR_SAMPLE_KERNEL, { image, xs, ys }) as tf.Tensor4D;
}

let registered = false;

/** Idempotent: the kernels for the loop backends, and the op's gradient. */
export function registerBilinearSample(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels(
    [
      [BILINEAR_SAMPLE_KERNEL, sampleKernel],
      [BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, sampleGradPointsKernel],
      [BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL, sampleGradImageKernel],
    ],
    sampleGrad,
  );
}
