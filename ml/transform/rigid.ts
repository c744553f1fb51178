/**
 * Rotation-then-translation of images with bilinear interpolation and black fill: the one
 * transform behind the `std`/`std*` augmentations and the spatial grid attacks (docs/method/pgd-and-grids.md#the-rigid-warp),
 * so that what training sees and what the attack tries are the same geometry.
 *
 * Conventions (Engstrom et al.): rotate counter-clockwise by `angleDeg` about the image centre
 * ((W-1)/2, (H-1)/2), then translate by (tx, ty) pixels, +tx moving content right, +ty down.
 * Images are NHWC float arrays. Samples falling outside the source contribute 0 (black).
 *
 * Where the native addon is built, applyWarp runs its kernel (native/src/augment.cc), which
 * computes the same bits (test/transform-rigid.test.ts); RF_NO_NATIVE=1 keeps it in TypeScript.
 */
import { loadNativeAddon, type NativeAddon } from '../backend/native/addon.ts';

let warpKernel: NativeAddon['warpRigid'] | null | undefined;
function nativeWarp(): NativeAddon['warpRigid'] | undefined {
  if (warpKernel === undefined) {
    const addon = loadNativeAddon();
    warpKernel = addon?.warpRigid ? addon.warpRigid.bind(addon) : null;
  }
  return warpKernel ?? undefined;
}

export interface RigidMotion {
  readonly angleDeg: number;
  readonly tx: number;
  readonly ty: number;
}

export const IDENTITY: RigidMotion = { angleDeg: 0, tx: 0, ty: 0 };

/**
 * For every output pixel, the 4 source pixel offsets (pixel index y*W+x, or -1 outside) and their
 * bilinear weights. Planning once per motion lets a grid attack reuse it across a whole batch.
 */
export interface WarpPlan {
  readonly height: number;
  readonly width: number;
  readonly src: Int32Array; // length H*W*4
  readonly weight: Float32Array; // length H*W*4
}

/** The rotation's cosine and sine: exact at multiples of 90 degrees, so those rotations are exact pixel permutations. */
export function rotationCosSin(angleDeg: number): [number, number] {
  const theta = (angleDeg * Math.PI) / 180;
  const quarter = angleDeg / 90;
  const exact = Number.isInteger(quarter);
  const q = ((quarter % 4) + 4) % 4;
  return [exact ? [1, 0, -1, 0][q]! : Math.cos(theta), exact ? [0, 1, 0, -1][q]! : Math.sin(theta)];
}

export function planWarp(height: number, width: number, m: RigidMotion): WarpPlan {
  const n = height * width;
  const src = new Int32Array(n * 4);
  const weight = new Float32Array(n * 4);
  const [c, s] = rotationCosSin(m.angleDeg);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // Written without a per-pixel list of corners: the augmentations plan a warp per image, and
  // those short-lived arrays cost more than the arithmetic.
  const corner = (at: number, xi: number, yi: number, w: number): void => {
    const inside = xi >= 0 && xi < width && yi >= 0 && yi < height && w > 0;
    src[at] = inside ? yi * width + xi : -1;
    weight[at] = inside ? w : 0;
  };
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      // Undo the translation, then the counter-clockwise rotation (y axis points down).
      const dx = u - m.tx - cx;
      const dy = v - m.ty - cy;
      const x = c * dx - s * dy + cx;
      const y = s * dx + c * dy + cy;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const base = (v * width + u) * 4;
      corner(base, x0, y0, (1 - fx) * (1 - fy));
      corner(base + 1, x0 + 1, y0, fx * (1 - fy));
      corner(base + 2, x0, y0 + 1, (1 - fx) * fy);
      corner(base + 3, x0 + 1, y0 + 1, fx * fy);
    }
  }
  return { height, width, src, weight };
}

/**
 * Applies `plan` to images [first, first+count) of `input` (NHWC, `channels` per pixel), writing the
 * results at the same positions of `output` (which must not overlap `input`).
 *
 * Each output value is the float32 sum of its corners' terms in corner order, rounded to float32
 * after every term (Math.fround), as accumulating in the float32 output itself would: the grid
 * attacks and the augmentations warp every image they touch, so the loop keeps its sums in locals
 * and has a three-channel path.
 */
export function applyWarp(plan: WarpPlan, input: Float32Array, output: Float32Array, channels: number, first = 0, count = 1): void {
  const native = nativeWarp();
  if (native) native(plan.src, plan.weight, input, output, plan.height * plan.width, channels, first, count);
  else applyWarpJs(plan, input, output, channels, first, count);
}

/** applyWarp in TypeScript: what runs without the native addon, and what its kernel is tested against. */
export function applyWarpJs(plan: WarpPlan, input: Float32Array, output: Float32Array, channels: number, first = 0, count = 1): void {
  const pixels = plan.height * plan.width;
  const stride = pixels * channels;
  const { src, weight } = plan;
  for (let img = first; img < first + count; img++) {
    const off = img * stride;
    if (channels === 3) {
      for (let p = 0, b = 0, o = off; p < pixels; p++, b += 4, o += 3) {
        let r = 0;
        let g = 0;
        let bl = 0;
        for (let k = b; k < b + 4; k++) {
          const sp = src[k]!;
          if (sp < 0) continue;
          const w = weight[k]!;
          const i = off + sp * 3;
          r = Math.fround(r + w * input[i]!);
          g = Math.fround(g + w * input[i + 1]!);
          bl = Math.fround(bl + w * input[i + 2]!);
        }
        output[o] = r;
        output[o + 1] = g;
        output[o + 2] = bl;
      }
      continue;
    }
    for (let p = 0; p < pixels; p++) {
      const b = p * 4;
      const o = off + p * channels;
      for (let ch = 0; ch < channels; ch++) {
        let sum = 0;
        for (let k = b; k < b + 4; k++) {
          const sp = src[k]!;
          if (sp >= 0) sum = Math.fround(sum + weight[k]! * input[off + sp * channels + ch]!);
        }
        output[o + ch] = sum;
      }
    }
  }
}

/**
 * One image (HWC, three channels) warped by `m`: exactly applyWarp(planWarp(height, width, m), …),
 * without the plan, for callers that warp each image by a motion of its own (the augmentations):
 * the same coordinates, corners, float32 weights and float32 running sums, computed in one pass.
 */
export function warpImage3(m: RigidMotion, height: number, width: number, input: Float32Array, output: Float32Array): void {
  const [c, s] = rotationCosSin(m.angleDeg);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let v = 0, o = 0; v < height; v++) {
    for (let u = 0; u < width; u++, o += 3) {
      const dx = u - m.tx - cx;
      const dy = v - m.ty - cy;
      const x = c * dx - s * dy + cx;
      const y = s * dx + c * dy + cy;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      let r = 0;
      let g = 0;
      let b = 0;
      // The corners in planWarp's order (x0,y0), (x0+1,y0), (x0,y0+1), (x0+1,y0+1), each skipped
      // where planWarp marks it outside (or weightless).
      for (let k = 0; k < 4; k++) {
        const xi = x0 + (k & 1);
        const yi = y0 + (k >> 1);
        const weight = (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy);
        if (!(xi >= 0 && xi < width && yi >= 0 && yi < height && weight > 0)) continue;
        const i = (yi * width + xi) * 3;
        const w = Math.fround(weight);
        r = Math.fround(r + w * input[i]!);
        g = Math.fround(g + w * input[i + 1]!);
        b = Math.fround(b + w * input[i + 2]!);
      }
      output[o] = r;
      output[o + 1] = g;
      output[o + 2] = b;
    }
  }
}

/** Warps each image of an NHWC batch by its own motion (or all by one). Returns a new array. */
export function warpBatch(
  images: Float32Array,
  shape: { n: number; height: number; width: number; channels: number },
  motions: RigidMotion | readonly RigidMotion[],
): Float32Array {
  const { n, height, width, channels } = shape;
  if (images.length !== n * height * width * channels) {
    throw new Error(`warpBatch: ${images.length} values do not match shape ${n}x${height}x${width}x${channels}`);
  }
  const out = new Float32Array(images.length);
  if (!Array.isArray(motions)) {
    applyWarp(planWarp(height, width, motions as RigidMotion), images, out, channels, 0, n);
    return out;
  }
  const list = motions as readonly RigidMotion[];
  if (list.length !== n) throw new Error(`warpBatch: ${list.length} motions for ${n} images`);
  for (let i = 0; i < n; i++) applyWarp(planWarp(height, width, list[i]!), images, out, channels, i, 1);
  return out;
}
