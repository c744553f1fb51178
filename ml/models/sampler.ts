/**
 * Differentiable image resampling for the STN and PTN: bilinear sampling with zero fill at arbitrary
 * (per-example, per-output-pixel) source coordinates, plus the two grids that feed it (an affine
 * grid, PyTorch `affine_grid` with align_corners = false; a log-polar grid around an origin).
 *
 * tfjs has no sampler with gradients, and composing one from `gather` fails under autodiff (the
 * integer corner indices would have to be derived from the differentiated coordinates), so
 * the composed `bilinearSample` is one custom-gradient op: d/dimage scatters the output gradient back to the four
 * corners with their weights (scatterND, which sums duplicates); d/dx and d/dy differentiate the bilinear weights (piecewise linear in
 * the coordinates; at exact integers the right derivative is taken).
 *
 * Where the backend has them, the loop kernels of ml/backend/bilinear-sample.ts run instead (same
 * values and gradients, one pass).
 *
 * Pixel coordinates: pixel (row i, column j) has its centre at (x, y) = (j, i). Samples whose corner
 * falls outside the image read 0 for that corner (black), as the rigid warp of ml/transform does.
 */
import * as tf from '@tensorflow/tfjs';
import { hasBilinearSampleKernel, runBilinearSample } from '../backend/bilinear-sample.ts';

interface Corner {
  /** Flat row index into the image viewed as [N*H*W, C]. */
  readonly index: tf.Tensor1D;
  /** Bilinear weight times inside-ness, [P] with P = N*Ho*Wo. */
  readonly weight: tf.Tensor1D;
  /** d weight / dx and d weight / dy, [P]. */
  readonly dwdx: tf.Tensor1D;
  readonly dwdy: tf.Tensor1D;
}

function corners(shape: readonly number[], xs: tf.Tensor, ys: tf.Tensor): Corner[] {
  const [n, h, w] = shape as [number, number, number, number];
  const per = xs.size / n;
  const x = xs.reshape([-1]);
  const y = ys.reshape([-1]);
  const x0 = x.floor();
  const y0 = y.floor();
  const fx = x.sub(x0);
  const fy = y.sub(y0);
  const offsets = new Int32Array(n * per);
  for (let b = 0; b < n; b++) offsets.fill(b * h * w, b * per, (b + 1) * per);
  const base = tf.tensor1d(offsets, 'int32');
  const out: Corner[] = [];
  for (const [dx, dy] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ] as const) {
    const xi = dx ? x0.add(1) : x0;
    const yi = dy ? y0.add(1) : y0;
    const inside = tf.logicalAnd(tf.logicalAnd(xi.greaterEqual(0), xi.lessEqual(w - 1)), tf.logicalAnd(yi.greaterEqual(0), yi.lessEqual(h - 1))).toFloat();
    const wx = dx ? fx : tf.sub(1, fx);
    const wy = dy ? fy : tf.sub(1, fy);
    const index = yi
      .clipByValue(0, h - 1)
      .mul(w)
      .add(xi.clipByValue(0, w - 1))
      .toInt()
      .add(base) as tf.Tensor1D;
    out.push({
      index,
      weight: wx.mul(wy).mul(inside) as tf.Tensor1D,
      dwdx: (dx ? wy : wy.neg()).mul(inside) as tf.Tensor1D,
      dwdy: (dy ? wx : wx.neg()).mul(inside) as tf.Tensor1D,
    });
  }
  return out;
}

const sampleOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [image, xs, ys, save] = args as [tf.Tensor4D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  const [n, h, w, c] = image.shape;
  const flat = image.reshape([n * h * w, c]);
  const value = tf.addN(corners(image.shape, xs, ys).map((k) => tf.gather(flat, k.index).mul(k.weight.expandDims(1))));
  save([image, xs, ys]);
  return {
    value: value.reshape([...xs.shape, c]) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [img, sx, sy] = saved as [tf.Tensor4D, tf.Tensor3D, tf.Tensor3D];
      const g = dy.reshape([-1, c]);
      const src = img.reshape([n * h * w, c]);
      const ks = corners(img.shape, sx, sy);
      // scatterND sums duplicate indices in linear time (unsortedSegmentSum is quadratic on cpu).
      const dImage = tf.scatterND(tf.concat(ks.map((k) => k.index)).expandDims(1), tf.concat(ks.map((k) => g.mul(k.weight.expandDims(1)))), [n * h * w, c]);
      // Per corner: sum over channels of dy * pixel value, times the weight's derivative.
      const dot = ks.map((k) => tf.gather(src, k.index).mul(g).sum(1));
      const dx = tf.addN(ks.map((k, i) => dot[i]!.mul(k.dwdx)));
      const dyy = tf.addN(ks.map((k, i) => dot[i]!.mul(k.dwdy)));
      return [dImage.reshape(img.shape), dx.reshape(sx.shape), dyy.reshape(sy.shape)];
    },
  };
});

/**
 * Samples `image` [N, H, W, C] at pixel coordinates `xs`, `ys` [N, Ho, Wo] -> [N, Ho, Wo, C],
 * bilinear, zero outside. Differentiable with respect to the image and both coordinate tensors.
 */
export function bilinearSample(image: tf.Tensor4D, xs: tf.Tensor3D, ys: tf.Tensor3D): tf.Tensor4D {
  if (xs.shape.join() !== ys.shape.join() || xs.shape[0] !== image.shape[0]) {
    throw new Error(`bilinearSample: image [${image.shape}], xs [${xs.shape}], ys [${ys.shape}] do not agree`);
  }
  if (image.dtype === 'float32' && hasBilinearSampleKernel()) return runBilinearSample(image, xs, ys);
  return composedBilinearSample(image, xs, ys);
}

/** The same sampling composed from tfjs ops (any backend; the reference the loop kernel is tested against). */
export function composedBilinearSample(image: tf.Tensor4D, xs: tf.Tensor3D, ys: tf.Tensor3D): tf.Tensor4D {
  return sampleOp(image, xs, ys) as tf.Tensor4D;
}

export interface SampleGrid {
  readonly xs: tf.Tensor3D;
  readonly ys: tf.Tensor3D;
}

/**
 * PyTorch's affine_grid (align_corners = false) in pixel coordinates: output pixel (i, j) has normalised
 * coordinates ((2j + 1) / W - 1, (2i + 1) / H - 1); theta [N, 2, 3] maps them to normalised source
 * coordinates, which are converted to pixels. Identity theta = [[1, 0, 0], [0, 1, 0]] reads each pixel
 * at its own centre.
 */
export function affineGrid(theta: tf.Tensor3D, height: number, width: number): SampleGrid {
  if (theta.shape[1] !== 2 || theta.shape[2] !== 3) throw new Error(`affineGrid: theta must be [N, 2, 3], got [${theta.shape}]`);
  return tf.tidy(() => {
    const n = theta.shape[0];
    const gx = new Float32Array(height * width);
    const gy = new Float32Array(height * width);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        gx[i * width + j] = (2 * j + 1) / width - 1;
        gy[i * width + j] = (2 * i + 1) / height - 1;
      }
    }
    const X = tf.tensor3d(gx, [1, height, width]);
    const Y = tf.tensor3d(gy, [1, height, width]);
    const t = theta.reshape([n, 6, 1, 1]);
    const entry = (k: number) => t.slice([0, k, 0, 0], [n, 1, 1, 1]).reshape([n, 1, 1]);
    const xn = entry(0).mul(X).add(entry(1).mul(Y)).add(entry(2));
    const yn = entry(3).mul(X).add(entry(4).mul(Y)).add(entry(5));
    return {
      xs: xn
        .add(1)
        .mul(width / 2)
        .sub(0.5) as tf.Tensor3D,
      ys: yn
        .add(1)
        .mul(height / 2)
        .sub(0.5) as tf.Tensor3D,
    };
  });
}

/** Radii (pixels) of the log-polar grid's columns: 0 at column 0, growing geometrically to maxRadius. */
export function logPolarRadii(columns: number, maxRadius: number): Float32Array {
  if (!(maxRadius > 1)) throw new Error(`logPolarRadii: maxRadius must exceed 1 pixel, got ${maxRadius}`);
  const r = new Float32Array(columns);
  for (let j = 0; j < columns; j++) {
    const t = columns === 1 ? 0 : j / (columns - 1);
    r[j] = (maxRadius * (Math.exp(t * Math.log(maxRadius)) - 1)) / (maxRadius - 1);
  }
  return r;
}

/**
 * Log-polar grid around `origin` [N, 2] (pixel x, y): row i is the angle 2 pi i / rows measured
 * counter-clockwise as displayed (y points down), column j the radius logPolarRadii(columns)[j].
 * So rotating the image counter-clockwise by 2 pi k / rows about the origin rolls the polar image
 * down by k rows.
 */
export function logPolarGrid(origin: tf.Tensor2D, rows: number, columns: number, maxRadius: number): SampleGrid {
  return tf.tidy(() => {
    const n = origin.shape[0];
    const radii = logPolarRadii(columns, maxRadius);
    const dx = new Float32Array(rows * columns);
    const dy = new Float32Array(rows * columns);
    for (let i = 0; i < rows; i++) {
      const a = (2 * Math.PI * i) / rows;
      for (let j = 0; j < columns; j++) {
        dx[i * columns + j] = radii[j]! * Math.cos(a);
        dy[i * columns + j] = -radii[j]! * Math.sin(a);
      }
    }
    const ox = origin.slice([0, 0], [n, 1]).reshape([n, 1, 1]);
    const oy = origin.slice([0, 1], [n, 1]).reshape([n, 1, 1]);
    return {
      xs: ox.add(tf.tensor3d(dx, [1, rows, columns])) as tf.Tensor3D,
      ys: oy.add(tf.tensor3d(dy, [1, rows, columns])) as tf.Tensor3D,
    };
  });
}
