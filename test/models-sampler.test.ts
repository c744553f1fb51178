// The STN/PTN samplers: exact pixel moves, PyTorch's affine_grid + grid_sample (values and
// gradients), gradients against float64 finite differences, and the log-polar grid's geometry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { affineGrid, bilinearSample, logPolarGrid, logPolarRadii } from '../ml/models/sampler.ts';
import { warpBatch } from '../ml/transform/rigid.ts';
import { Rng } from '../ml/random.ts';
import { loadTorchFixture } from './models-fixtures.ts';

await tf.setBackend('cpu');

function sampleAffine(img: tf.Tensor4D, theta: number[][][]): tf.Tensor4D {
  return tf.tidy(() => {
    const g = affineGrid(tf.tensor3d(theta), img.shape[1], img.shape[2]);
    return bilinearSample(img, g.xs, g.ys);
  });
}

function randomImage(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n * h * w * c), 0, 1);
}

test('identity theta reproduces the image; integer translations move pixels and fill black', () => {
  const [n, h, w, c] = [2, 5, 7, 3];
  const data = randomImage(n, h, w, c, 1);
  const img = tf.tensor4d(data, [n, h, w, c]);
  const id = sampleAffine(img, [
    [
      [1, 0, 0],
      [0, 1, 0],
    ],
    [
      [1, 0, 0],
      [0, 1, 0],
    ],
  ]).dataSync();
  for (let i = 0; i < data.length; i++) assert.ok(Math.abs(id[i]! - data[i]!) < 1e-6);
  // theta translation (2k/W, 2l/H) in normalised units reads source pixel (j + k, i + l).
  const [k, l] = [2, -1];
  const moved = sampleAffine(
    img,
    Array.from({ length: n }, () => [
      [1, 0, (2 * k) / w],
      [0, 1, (2 * l) / h],
    ]),
  ).dataSync();
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let ch = 0; ch < c; ch++) {
          const si = i + l,
            sj = j + k;
          const inside = si >= 0 && si < h && sj >= 0 && sj < w;
          const want = inside ? data[((b * h + si) * w + sj) * c + ch]! : 0;
          assert.ok(Math.abs(moved[((b * h + i) * w + j) * c + ch]! - want) < 1e-5, `(${b},${i},${j},${ch})`);
        }
  img.dispose();
});

test('a 90-degree theta equals the rigid warp rotating 90 degrees counter-clockwise', () => {
  for (const size of [6, 7]) {
    const data = randomImage(1, size, size, 2, 2);
    const img = tf.tensor4d(data, [1, size, size, 2]);
    const got = sampleAffine(img, [
      [
        [0, -1, 0],
        [1, 0, 0],
      ],
    ]).dataSync();
    const want = warpBatch(data, { n: 1, height: size, width: size, channels: 2 }, { angleDeg: 90, tx: 0, ty: 0 });
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `size ${size}, entry ${i}`);
    img.dispose();
  }
});

test('values and gradients (image, theta) match PyTorch affine_grid + grid_sample', () => {
  const fx = loadTorchFixture('sampler');
  const img = tf.tensor4d(fx.get('image'), fx.shape('image') as [number, number, number, number]);
  const theta = tf.tensor3d(fx.get('theta'), fx.shape('theta') as [number, number, number]);
  const upstream = tf.tensor4d(fx.get('upstream'), fx.shape('upstream') as [number, number, number, number]);
  const f = (im: tf.Tensor, th: tf.Tensor) => {
    const g = affineGrid(th as tf.Tensor3D, img.shape[1], img.shape[2]);
    return bilinearSample(im as tf.Tensor4D, g.xs, g.ys);
  };
  const out = f(img, theta);
  const [gImg, gTheta] = tf.grads((im: tf.Tensor, th: tf.Tensor) => f(im, th).mul(upstream).sum())([img, theta]);
  for (const [name, t] of [
    ['out', out],
    ['grad_image', gImg!],
    ['grad_theta', gTheta!],
  ] as const) {
    const got = t.dataSync();
    const want = fx.get(name);
    assert.equal(got.length, want.length, name);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4 * (1 + Math.abs(want[i]!)), `${name}[${i}]: ${got[i]} vs ${want[i]}`);
  }
  tf.dispose([img, theta, upstream, out, gImg!, gTheta!]);
});

/** Float64 reference: PyTorch-convention affine sampling, zero fill. */
function reference(img: Float64Array, shape: number[], theta: Float64Array): Float64Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const out = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    const t = theta.subarray(b * 6, b * 6 + 6);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const xn = (2 * j + 1) / w - 1,
          yn = (2 * i + 1) / h - 1;
        const x = ((t[0]! * xn + t[1]! * yn + t[2]! + 1) * w - 1) / 2;
        const y = ((t[3]! * xn + t[4]! * yn + t[5]! + 1) * h - 1) / 2;
        const x0 = Math.floor(x),
          y0 = Math.floor(y);
        for (const [xi, yi, wt] of [
          [x0, y0, (x0 + 1 - x) * (y0 + 1 - y)],
          [x0 + 1, y0, (x - x0) * (y0 + 1 - y)],
          [x0, y0 + 1, (x0 + 1 - x) * (y - y0)],
          [x0 + 1, y0 + 1, (x - x0) * (y - y0)],
        ] as const) {
          if (xi < 0 || xi >= w || yi < 0 || yi >= h) continue;
          for (let ch = 0; ch < c; ch++) out[((b * h + i) * w + j) * c + ch]! += wt * img[((b * h + yi) * w + xi) * c + ch]!;
        }
      }
  }
  return out;
}

test('gradients with respect to image and theta agree with float64 finite differences', () => {
  const shape = [2, 6, 5, 2];
  const size = shape.reduce((a, b) => a * b, 1);
  const img32 = randomImage(2, 6, 5, 2, 3);
  const r = new Rng(4);
  const weights = r.fillNormal(new Float32Array(size));
  const theta = new Float32Array([0.8, -0.3, 0.137, 0.25, 1.05, -0.07, -0.6, 0.7, 0.2, 0.75, 0.55, 0.1]);
  const img = tf.tensor4d(img32, shape as [number, number, number, number]);
  const th = tf.tensor3d(theta, [2, 2, 3]);
  const wt = tf.tensor4d(weights, shape as [number, number, number, number]);
  const [gImg, gTh] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const g = affineGrid(b as tf.Tensor3D, 6, 5);
    return bilinearSample(a as tf.Tensor4D, g.xs, g.ys)
      .mul(wt)
      .sum();
  })([img, th]);
  const grid = affineGrid(th, 6, 5);
  for (const v of [...grid.xs.dataSync(), ...grid.ys.dataSync()]) {
    assert.ok(Math.abs(v - Math.round(v)) > 1e-3, `a sample at ${v} sits on a pixel boundary (a kink): move theta`);
  }
  tf.dispose([grid.xs, grid.ys]);
  const loss = (im: Float64Array, t: Float64Array) => reference(im, shape, t).reduce((a, v, i) => a + v * weights[i]!, 0);
  const im64 = Float64Array.from(img32),
    th64 = Float64Array.from(theta);
  // theta: central differences (smooth: no sample sits on a pixel boundary, checked above).
  const gt = gTh!.dataSync();
  const eps = 1e-6;
  for (let k = 0; k < 12; k++) {
    const p = Float64Array.from(th64);
    p[k]! += eps;
    const m = Float64Array.from(th64);
    m[k]! -= eps;
    const fd = (loss(im64, p) - loss(im64, m)) / (2 * eps);
    assert.ok(Math.abs(gt[k]! - fd) < 1e-3 * (1 + Math.abs(fd)), `theta[${k}]: ${gt[k]} vs ${fd}`);
  }
  // image: the loss is linear in the image, so a unit step is exact.
  const gi = gImg!.dataSync();
  for (let k = 0; k < size; k += 7) {
    const p = Float64Array.from(im64);
    p[k]! += 1;
    const fd = loss(p, th64) - loss(im64, th64);
    assert.ok(Math.abs(gi[k]! - fd) < 1e-4 * (1 + Math.abs(fd)), `image[${k}]: ${gi[k]} vs ${fd}`);
  }
  tf.dispose([img, th, wt, gImg!, gTh!]);
});

test('log-polar grid: angles counter-clockwise, radii from 0 to radiusFactor * width (linear image)', () => {
  const size = 16;
  const radii = logPolarRadii(size, 0.7071 * size);
  assert.equal(radii[0], 0);
  assert.ok(Math.abs(radii[size - 1]! - 0.7071 * size) < 1e-4);
  // Log spacing: 1 + r (R - 1) / R grows by the constant factor R^(1 / (size - 1)), R = max radius.
  const R = 0.7071 * size;
  const u = (r: number) => 1 + (r * (R - 1)) / R;
  for (let j = 1; j < size; j++) assert.ok(Math.abs(u(radii[j]!) / u(radii[j - 1]!) - R ** (1 / (size - 1))) < 1e-5);
  // A linear image a + b x + c y is reproduced exactly by bilinear sampling inside the image.
  const [a, b, c] = [0.2, 0.03, -0.02];
  const data = new Float32Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) data[i * size + j] = a + b * j + c * i;
  const [ox, oy] = [7.5, 7.5];
  const polar = tf.tidy(() => {
    const g = logPolarGrid(tf.tensor2d([[ox, oy]]), size, size, 0.7071 * size);
    return bilinearSample(tf.tensor4d(data, [1, size, size, 1]), g.xs, g.ys).dataSync();
  });
  let checked = 0;
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      if (radii[j]! > 7.4) continue;
      const ang = (2 * Math.PI * i) / size;
      const want = a + b * (ox + radii[j]! * Math.cos(ang)) + c * (oy - radii[j]! * Math.sin(ang));
      assert.ok(Math.abs(polar[i * size + j]! - want) < 1e-5, `(${i}, ${j})`);
      checked++;
    }
  assert.ok(checked > size * 8);
});

test('rotating the input about the origin is a cyclic shift along the angle axis', () => {
  // Exact pixel rotation (90 and 180 degrees about the image centre).
  const size = 12;
  const data = randomImage(1, size, size, 3, 5);
  const center = (size - 1) / 2;
  const polarOf = (d: Float32Array, o: [number, number]) =>
    tf.tidy(() => {
      const g = logPolarGrid(tf.tensor2d([o]), 16, size, 0.7071 * size);
      return bilinearSample(tf.tensor4d(d, [1, size, size, 3]), g.xs, g.ys).dataSync();
    });
  const base = polarOf(data, [center, center]);
  for (const [deg, shift] of [
    [90, 4],
    [180, 8],
    [270, 12],
  ] as const) {
    const rotated = warpBatch(data, { n: 1, height: size, width: size, channels: 3 }, { angleDeg: deg, tx: 0, ty: 0 });
    const p = polarOf(rotated, [center, center]);
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < size * 3; j++) {
        const want = base[((i - shift + 16) % 16) * size * 3 + j]!;
        assert.ok(Math.abs(p[i * size * 3 + j]! - want) < 1e-5, `${deg} deg: row ${i}, entry ${j}`);
      }
  }
  // Any angle 2 pi k / rows about an off-centre origin, on a linear image (bilinear-exact), where
  // both samples stay inside the image.
  const [a, b, c] = [0.1, 0.05, 0.02];
  const o: [number, number] = [5.3, 6.1];
  const rows = 24,
    k = 5,
    phi = (2 * Math.PI * k) / rows;
  const lin = new Float32Array(size * size * 3),
    rot = new Float32Array(size * size * 3);
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      // rotated image: I'(p) = I(o + R(-phi)(p - o)), R counter-clockwise as displayed (y down).
      const dx = j - o[0],
        dy = i - o[1];
      const sx = o[0] + Math.cos(phi) * dx - Math.sin(phi) * dy;
      const sy = o[1] + Math.sin(phi) * dx + Math.cos(phi) * dy;
      for (let ch = 0; ch < 3; ch++) {
        lin[(i * size + j) * 3 + ch] = a + b * j + c * i + ch;
        rot[(i * size + j) * 3 + ch] = a + b * sx + c * sy + ch;
      }
    }
  const polar = (d: Float32Array) =>
    tf.tidy(() => {
      const g = logPolarGrid(tf.tensor2d([o]), rows, size, 0.7071 * size);
      return bilinearSample(tf.tensor4d(d, [1, size, size, 3]), g.xs, g.ys).dataSync();
    });
  const p0 = polar(lin),
    p1 = polar(rot);
  const radii = logPolarRadii(size, 0.7071 * size);
  const inside = Math.min(o[0], o[1], size - 1 - o[0], size - 1 - o[1]);
  let checked = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < size; j++) {
      if (radii[j]! > inside) continue;
      for (let ch = 0; ch < 3; ch++) {
        const got = p1[(i * size + j) * 3 + ch]!,
          want = p0[(((((i - k) % rows) + rows) % rows) * size + j) * 3 + ch]!;
        assert.ok(Math.abs(got - want) < 1e-4, `row ${i}, radius ${j}: ${got} vs ${want}`);
        checked++;
      }
    }
  assert.ok(checked > rows * 3 * 5);
});
