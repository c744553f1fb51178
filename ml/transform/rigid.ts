/**
 * Rotation-then-translation of images with bilinear interpolation and black fill: the one
 * transform behind the `std`/`std*` augmentations and the spatial grid attacks (docs/method/pgd-and-grids.md#the-rigid-warp),
 * so that what training sees and what the attack tries are the same geometry.
 *
 * Conventions (Engstrom et al.): rotate counter-clockwise by `angleDeg` about the image centre
 * ((W-1)/2, (H-1)/2), then translate by (tx, ty) pixels, +tx moving content right, +ty down.
 * Images are NHWC float arrays. Samples falling outside the source contribute 0 (black).
 */

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

export function planWarp(height: number, width: number, m: RigidMotion): WarpPlan {
  const n = height * width;
  const src = new Int32Array(n * 4);
  const weight = new Float32Array(n * 4);
  const theta = (m.angleDeg * Math.PI) / 180;
  // Exact values at multiples of 90 degrees, so those rotations are exact pixel permutations.
  const quarter = m.angleDeg / 90;
  const exact = Number.isInteger(quarter);
  const q = ((quarter % 4) + 4) % 4;
  const c = exact ? [1, 0, -1, 0][q]! : Math.cos(theta);
  const s = exact ? [0, 1, 0, -1][q]! : Math.sin(theta);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
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
      const corners: Array<[number, number, number]> = [
        [x0, y0, (1 - fx) * (1 - fy)],
        [x0 + 1, y0, fx * (1 - fy)],
        [x0, y0 + 1, (1 - fx) * fy],
        [x0 + 1, y0 + 1, fx * fy],
      ];
      for (let k = 0; k < 4; k++) {
        const [xi, yi, w] = corners[k]!;
        const inside = xi >= 0 && xi < width && yi >= 0 && yi < height && w > 0;
        src[base + k] = inside ? yi * width + xi : -1;
        weight[base + k] = inside ? w : 0;
      }
    }
  }
  return { height, width, src, weight };
}

/**
 * Applies `plan` to images [first, first+count) of `input` (NHWC, `channels` per pixel), writing the
 * results at the same positions of `output`.
 */
export function applyWarp(plan: WarpPlan, input: Float32Array, output: Float32Array, channels: number, first = 0, count = 1): void {
  const pixels = plan.height * plan.width;
  const stride = pixels * channels;
  for (let img = first; img < first + count; img++) {
    const off = img * stride;
    for (let p = 0; p < pixels; p++) {
      const b = p * 4;
      const o = off + p * channels;
      for (let ch = 0; ch < channels; ch++) output[o + ch] = 0;
      for (let k = 0; k < 4; k++) {
        const sp = plan.src[b + k]!;
        if (sp < 0) continue;
        const w = plan.weight[b + k]!;
        const i = off + sp * channels;
        for (let ch = 0; ch < channels; ch++) output[o + ch]! += w * input[i + ch]!;
      }
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
