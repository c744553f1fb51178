// The rigid warp and the std/std* augmentation in their plain formulation (one float32 store per
// corner term, a fresh corner list per pixel, a fresh image per augmentation): what
// ml/transform/rigid.ts and ml/augment/standard.ts computed before they were rewritten for speed,
// kept as the reference those must equal bit for bit (test/transform-rigid.test.ts,
// test/augment-standard.test.ts) and as the "before" of bench/augment-warp.ts.
import { applyJitter } from '../../ml/augment/color-jitter.ts';
import type { AugmentDraw, ImageDims } from '../../ml/augment/standard.ts';
import type { RigidMotion, WarpPlan } from '../../ml/transform/rigid.ts';

export function plainPlanWarp(height: number, width: number, m: RigidMotion): WarpPlan {
  const n = height * width;
  const src = new Int32Array(n * 4);
  const weight = new Float32Array(n * 4);
  const theta = (m.angleDeg * Math.PI) / 180;
  const quarter = m.angleDeg / 90;
  const exact = Number.isInteger(quarter);
  const q = ((quarter % 4) + 4) % 4;
  const c = exact ? [1, 0, -1, 0][q]! : Math.cos(theta);
  const s = exact ? [0, 1, 0, -1][q]! : Math.sin(theta);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
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

export function plainApplyWarp(plan: WarpPlan, input: Float32Array, output: Float32Array, channels: number, first = 0, count = 1): void {
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

function plainShiftAndFlip(src: Float32Array, out: Float32Array, d: ImageDims, tx: number, ty: number, flip: boolean): void {
  const { height: H, width: W, channels: C } = d;
  for (let y = 0; y < H; y++) {
    const sy = y - ty;
    for (let x = 0; x < W; x++) {
      const ox = flip ? W - 1 - x : x;
      const sx = ox - tx;
      const o = (y * W + x) * C;
      if (sy < 0 || sy >= H || sx < 0 || sx >= W) {
        for (let c = 0; c < C; c++) out[o + c] = 0;
      } else {
        const i = (sy * W + sx) * C;
        for (let c = 0; c < C; c++) out[o + c] = src[i + c]!;
      }
    }
  }
}

export function plainApplyAugment(src: Float32Array, d: ImageDims, draw: AugmentDraw, out?: Float32Array): Float32Array {
  const size = d.height * d.width * d.channels;
  const img = new Float32Array(size);
  plainShiftAndFlip(src, img, d, draw.tx, draw.ty, draw.flip);
  for (const op of draw.jitterOrder) {
    const f = draw[op];
    if (f !== 1) applyJitter(img, d.channels, op, f);
  }
  const result = out ?? new Float32Array(size);
  if (draw.angleDeg === 0) result.set(img);
  else plainApplyWarp(plainPlanWarp(d.height, d.width, { angleDeg: draw.angleDeg, tx: 0, ty: 0 }), img, result, d.channels);
  return result;
}
