// The native resampling kernels (native/src/resample.cc: bilinear sampling, clipping, circular row
// padding, and both gradients against their first formulation in helpers/plain-sample-grad.ts) against the kernels they replace, bit for bit: the sampler and the row padding against
// their TypeScript loop kernels (what the cpu backend runs; themselves checked against the composed
// tfjs ops and finite differences in backend-bilinear-sample, backend-wrap-rows and
// models-sampler), the clip against tfjs' cpu kernel. Inputs include NaN, +-Infinity, -0, huge
// coordinates, exact pixel centres and the border, and sizes above the threads' split.
import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL,
  BILINEAR_SAMPLE_GRAD_POINTS_KERNEL,
  BILINEAR_SAMPLE_KERNEL,
  runBilinearSample,
} from '../ml/backend/bilinear-sample.ts';
import { WRAP_ROWS_KERNEL, wrapRows } from '../ml/backend/wrap-rows.ts';
import { initBackend } from '../ml/backend/index.ts';
import { Rng } from '../ml/random.ts';
import { randomArray, runOn, sameBits } from './backend-compare.ts';
import { plainSampleGrad, plainWrapRowsGrad } from './helpers/plain-sample-grad.ts';

const skip = nativeSkip();

/** Coordinates in [-2, size + 1]: a quarter snapped to integers, a few special values. */
function coordinates(seed: number, count: number, size: number): Float32Array {
  const rng = new Rng(seed);
  const out = rng.fillUniform(new Float32Array(count), -2, size + 1);
  for (let i = 0; i < out.length; i += 4) out[i] = Math.round(out[i]!);
  const special = [NaN, Infinity, -Infinity, -0, 0, size - 1, size - 1 + 1e-6, -1, -1 + 1e-6, 1e30, -1e30, 0.5];
  special.forEach((v, k) => (out[(k * 7919 + seed) % count] = v));
  return out;
}

/**
 * Sample points over a w x h image (coordinates() for x from `seed`, for y from `seed` + 1), with a
 * NaN y whose x lies outside (TypeScript skips both corners: 0) and one whose x lies inside (NaN).
 */
function samplePoints(seed: number, count: number, w: number, h: number): { xs: Float32Array; ys: Float32Array } {
  const xs = coordinates(seed, count, w);
  const ys = coordinates(seed + 1, count, h);
  xs[5] = -5;
  ys[5] = NaN;
  xs[6] = 2.5;
  ys[6] = NaN;
  return { xs, ys };
}

/** Samples of `image` at (xs, ys) on `backend`, [n, ho, wo, c]. */
async function sampleOn(
  backend: string,
  image: Float32Array,
  shape: [number, number, number, number],
  xs: Float32Array,
  ys: Float32Array,
  out: [number, number],
) {
  const [n, , , c] = shape;
  const [got] = await runOn(backend, () => {
    assert.ok(tf.getKernel(BILINEAR_SAMPLE_KERNEL, backend) !== undefined);
    return [runBilinearSample(tf.tensor4d(image, shape), tf.tensor3d(xs, [n, ...out]), tf.tensor3d(ys, [n, ...out]))];
  });
  assert.equal(got!.length, n * out[0] * out[1] * c);
  return got!;
}

test('native bilinear sampling equals the TypeScript kernel bit for bit (NaN, Infinity, -0, border, outside)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  // Small (one thread's work) and large (split over threads, 3 channels as the models sample).
  for (const [shape, out] of [
    [
      [3, 6, 7, 5],
      [5, 4],
    ],
    [
      [40, 32, 32, 3],
      [32, 32],
    ],
  ] as Array<[[number, number, number, number], [number, number]]>) {
    const [n, h, w] = shape;
    const image = randomArray(1, shape);
    image[3] = NaN;
    image[10] = -0;
    image[17] = Infinity;
    const { xs, ys } = samplePoints(2, n * out[0] * out[1], w, h);
    const native = await sampleOn('native', image, shape, xs, ys, out);
    const typescript = await sampleOn('cpu', image, shape, xs, ys, out);
    sameBits(native, typescript, `samples of [${shape}]`);
    // Not vacuous: real values, zeros (outside), NaN (NaN coordinates or pixels).
    assert.ok(native.some((v) => v !== 0 && Number.isFinite(v)));
    assert.ok(native.some((v) => v === 0));
    assert.ok(native.some((v) => Number.isNaN(v)));
  }
});

/** d/dimage, d/dxs, d/dys of sum(dy * sample(image, xs, ys)) on `backend` (the sampler's dy is `dy` exactly). */
function sampleGradsOn(
  backend: string,
  image: Float32Array,
  shape: [number, number, number, number],
  xs: Float32Array,
  ys: Float32Array,
  out: [number, number],
  dy: Float32Array,
) {
  const [n, , , c] = shape;
  return runOn(backend, () => {
    const args = [tf.tensor4d(image, shape), tf.tensor3d(xs, [n, ...out]), tf.tensor3d(ys, [n, ...out])];
    const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(tf.tensor4d(dy, [n, ...out, c]), runBilinearSample(a as tf.Tensor4D, b as tf.Tensor3D, d as tf.Tensor3D)));
    return tf.grads(f)(args);
  });
}

test('the sampler gradient, native and TypeScript, equals its first formulation bit for bit (NaN, Infinity, -0, border, outside)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [shape, out] of [
    [
      [2, 5, 6, 3],
      [4, 4],
    ],
    [
      [3, 6, 7, 1],
      [5, 4],
    ],
    [
      [2, 6, 7, 5],
      [5, 4],
    ],
    [
      [40, 32, 32, 3],
      [32, 32],
    ],
  ] as Array<[[number, number, number, number], [number, number]]>) {
    const [n, h, w, c] = shape;
    const points = n * out[0] * out[1];
    const image = randomArray(4, shape);
    image[2] = -0;
    image[shape.reduce((a, d) => a * d) - 1] = NaN;
    const { xs, ys } = samplePoints(5, points, w, h);
    const dy = randomArray(7, [points, c]);
    dy[1] = -0;
    dy[dy.length - 2] = NaN;
    const reference = plainSampleGrad(image, shape, xs, ys, dy);
    const what = `[${shape}] to [${out}]`;
    for (const backend of ['native', 'cpu']) {
      const got = await sampleGradsOn(backend, image, shape, xs, ys, out, dy);
      ['d/dimage', 'd/dxs', 'd/dys'].forEach((name, i) => sameBits(got[i]!, reference[i]!, `${backend} ${name} of ${what}`));
    }
    // Not vacuous: finite non-zero gradients, and NaN where a NaN pixel or coordinate is read.
    for (const g of reference)
      assert.ok(
        g.some((v) => v !== 0 && Number.isFinite(v)),
        what,
      );
    assert.ok(
      reference[1]!.some((v) => Number.isNaN(v)),
      what,
    );
  }
});

test('training skips the sampler gradient for the image: only d/dxs and d/dys run when the image is data', { skip }, async () => {
  for (const backend of ['native', 'cpu'] as const) {
    await initBackend(backend, { log: () => {} });
    const image = tf.tensor4d(randomArray(10, [2, 8, 8, 3]), [2, 8, 8, 3]);
    const grid = tf.variable(tf.tensor3d(coordinates(11, 2 * 6 * 6, 7), [2, 6, 6]));
    const kernels = async (f: () => tf.Tensor) => {
      const info = await tf.profile(() => {
        const g = f();
        g.dispose();
      });
      return new Set(info.kernels.map((k) => k.name));
    };
    const loss = (im: tf.Tensor4D, xs: tf.Tensor3D) => tf.sum(runBilinearSample(im, xs, xs));
    const viaGrid = await kernels(() => tf.grad((xs: tf.Tensor) => loss(image, xs as tf.Tensor3D))(grid));
    assert.ok(viaGrid.has(BILINEAR_SAMPLE_GRAD_POINTS_KERNEL), `${backend}: ${[...viaGrid].join(', ')}`);
    assert.ok(!viaGrid.has(BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL), `${backend}: the image gradient ran`);
    // An attack differentiates with respect to the image: then it runs.
    const viaImage = await kernels(() => tf.grad((im: tf.Tensor) => loss(im as tf.Tensor4D, grid))(image));
    assert.ok(viaImage.has(BILINEAR_SAMPLE_GRAD_IMAGE_KERNEL), `${backend}: ${[...viaImage].join(', ')}`);
    tf.dispose([image, grid]);
  }
});

test('the circular row padding gradient, native and TypeScript, equals its first formulation bit for bit (-0, pad up to the rows)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [shape, pad] of [
    [[2, 5, 3, 4], 1],
    [[3, 4, 2, 3], 4],
    [[2, 6, 2, 2], 4],
    [[20, 32, 32, 8], 1],
  ] as Array<[[number, number, number, number], number]>) {
    const [n, h, w, c] = shape;
    const ho = h + 2 * pad;
    const x = randomArray(8, shape);
    const dy = randomArray(9, [n, ho, w, c]);
    // -0 in a wrapped row and in the row it copies: the sum's sign depends on where it starts.
    const row = w * c;
    for (const r of [0, pad, h, h + pad, ho - 1]) dy[r * row] = -0;
    dy[row + 1] = NaN;
    const reference = plainWrapRowsGrad(dy, shape, pad);
    for (const backend of ['native', 'cpu']) {
      const [got] = await runOn(backend, () => [
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tensor4d(dy, [n, ho, w, c]), wrapRows(t as tf.Tensor4D, pad))))(tf.tensor4d(x, shape)),
      ]);
      sameBits(got!, reference, `${backend} d/dx of wrapRows [${shape}] pad ${pad}`);
    }
    assert.ok(reference.some((v) => Object.is(v, -0)) || reference.some((v) => Object.is(v, 0)));
  }
});

test('native circular row padding equals the TypeScript kernel bit for bit', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [shape, pad] of [
    [[2, 5, 3, 4], 1],
    [[3, 4, 2, 3], 4],
    [[20, 32, 32, 8], 1],
  ] as Array<[[number, number, number, number], number]>) {
    const x = randomArray(8, shape);
    x[0] = NaN;
    x[1] = -0;
    const on = (backend: string) =>
      runOn(backend, () => {
        assert.ok(tf.getKernel(WRAP_ROWS_KERNEL, backend) !== undefined);
        return [wrapRows(tf.tensor4d(x, shape), pad)];
      });
    const [native] = await on('native');
    const [typescript] = await on('cpu');
    sameBits(native!, typescript!, `wrapRows [${shape}] pad ${pad}`);
  }
});

test('native clipByValue equals the cpu kernel bit for bit (NaN and -0 pass, bounds rounded to float32)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const x = randomArray(9, [70000], -3, 3);
  [NaN, -0, 0, Infinity, -Infinity, 1, 0.1, Math.fround(0.1), 1e-45, -1e-45].forEach((v, k) => (x[k * 13] = v));
  for (const [lo, hi] of [
    [0, 1],
    [-0.1, 0.1],
    [-Infinity, 0.3],
  ] as Array<[number, number]>) {
    const on = (backend: string) => runOn(backend, () => [tf.clipByValue(tf.tensor1d(x), lo, hi), tf.clipByValue(tf.tensor1d(x.subarray(0, 100)), lo, hi)]);
    const native = await on('native');
    const cpu = await on('cpu');
    native.forEach((v, i) => sameBits(v, cpu[i]!, `clip [${lo}, ${hi}] output ${i}`));
  }
});

test('native strided slices equal the cpu kernel bit for bit (random ranks, begins and sizes, -1 sizes)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const rng = new Rng(31);
  let strided = 0;
  for (let k = 0; k < 60; k++) {
    const rank = 2 + rng.int(3);
    const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
    const begin = shape.map((d) => rng.int(d));
    const size = shape.map((d, i) => (rng.int(5) === 0 ? -1 : 1 + rng.int(d - begin[i]!)));
    const x = randomArray(40 + k, shape);
    x[0] = NaN;
    x[x.length - 1] = -0;
    const on = (backend: string) => runOn(backend, () => [tf.slice(tf.tensor(x, shape), begin, size)]);
    const [native] = await on('native');
    const [cpu] = await on('cpu');
    sameBits(native!, cpu!, `slice of [${shape}] at [${begin}] size [${size}]`);
    const full = size.map((s, i) => (s === -1 ? shape[i]! - begin[i]! : s));
    if (!tf.slice_util.isSliceContinous(shape, begin, full)) strided++;
  }
  assert.ok(strided > 20, `only ${strided} strided cases`);
});
