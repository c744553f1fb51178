// The bilinear sampler's gradient and the circular row padding's gradient in their first
// formulation: one pass over the points that fills d/dimage, d/dxs and d/dys together, and a
// zero-filled d/dx to which every padded row is added in order. What ml/backend/bilinear-sample.ts
// and wrap-rows.ts computed before the gradient was split (d/dimage only when asked) and made
// native; kept as the reference the split TypeScript kernels and the native ones must equal bit
// for bit (test/backend-native-resample.test.ts).

/** [dImage, dxs, dys] of sum(dy * sample(image, xs, ys)), image NHWC [n, h, w, c], dy [n * per, c]. */
export function plainSampleGrad(
  image: Float32Array,
  [n, h, w, c]: readonly [number, number, number, number],
  xs: Float32Array,
  ys: Float32Array,
  dy: Float32Array,
): [Float32Array, Float32Array, Float32Array] {
  const per = xs.length / n;
  const dImage = new Float32Array(image.length);
  const dxs = new Float32Array(xs.length);
  const dys = new Float32Array(ys.length);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < per; p++) {
      const q = b * per + p;
      const o = q * c;
      const x = xs[q]!;
      const y = ys[q]!;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      let sx = 0;
      let sy = 0;
      for (let cy = 0; cy < 2; cy++) {
        const yi = y0 + cy;
        if (yi < 0 || yi > h - 1) continue;
        const wy = cy ? fy : 1 - fy;
        for (let cx = 0; cx < 2; cx++) {
          const xi = x0 + cx;
          if (xi < 0 || xi > w - 1) continue;
          const wx = cx ? fx : 1 - fx;
          const weight = wx * wy;
          const s = ((b * h + yi) * w + xi) * c;
          let dot = 0;
          for (let ch = 0; ch < c; ch++) {
            const d = dy[o + ch]!;
            dImage[s + ch] = dImage[s + ch]! + weight * d;
            dot += d * image[s + ch]!;
          }
          sx += dot * (cx ? wy : -wy);
          sy += dot * (cy ? wx : -wx);
        }
      }
      dxs[q] = sx;
      dys[q] = sy;
    }
  }
  return [dImage, dxs, dys];
}

/** d/dx of sum(dy * wrapRows(x, pad)), x [n, h, w, c], dy [n, h + 2 pad, w, c]. */
export function plainWrapRowsGrad(dy: Float32Array, [n, h, w, c]: readonly [number, number, number, number], pad: number): Float32Array {
  const row = w * c;
  const ho = h + 2 * pad;
  const dx = new Float32Array(n * h * row);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < ho; r++) {
      const source = (((r - pad) % h) + h) % h;
      for (let k = 0; k < row; k++) dx[(b * h + source) * row + k] = dx[(b * h + source) * row + k]! + dy[(b * ho + r) * row + k]!;
    }
  }
  return dx;
}
