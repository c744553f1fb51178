import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjustBrightness, adjustContrast, adjustSaturation } from '../ml/augment/color-jitter.ts';
import { IDENTITY_DRAW, STD, STD_STAR, applyAugment, augmentBatch, augmentRng, augmentSpec, drawAugment, type AugmentDraw } from '../ml/augment/standard.ts';
import { Rng } from '../ml/random.ts';

const d = { height: 8, width: 8, channels: 3 };
const size = 8 * 8 * 3;
const at = (img: Float32Array, y: number, x: number, c: number) => img[(y * d.width + x) * d.channels + c]!;
const randomImage = (seed: number, lo = 0, hi = 1) => new Rng(seed).fillUniform(new Float32Array(size), lo, hi);

test('a pure translation moves content by the drawn number of pixels, black fill', () => {
  const spec = { ...STD, flipProbability: 0, brightness: 0, contrast: 0, saturation: 0, maxRotationDeg: 0 };
  const img = randomImage(1);
  const seen = new Set<string>();
  for (let k = 0; k < 60; k++) {
    const draw = drawAugment(spec, new Rng(k));
    seen.add(`${draw.tx},${draw.ty}`);
    const out = applyAugment(img, d, draw);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const sy = y - draw.ty,
          sx = x - draw.tx;
        const inside = sy >= 0 && sy < 8 && sx >= 0 && sx < 8;
        for (let c = 0; c < 3; c++) assert.equal(at(out, y, x, c), inside ? at(img, sy, sx, c) : 0);
      }
  }
  assert.ok(seen.size > 30, `only ${seen.size} distinct translations in 60 draws`);
});

test('rotation by 90 degrees of a square image is the exact pixel permutation; flip mirrors columns', () => {
  const img = randomImage(2);
  const out = applyAugment(img, d, { ...IDENTITY_DRAW, angleDeg: 90 });
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) assert.equal(at(out, y, x, c), at(img, x, 7 - y, c)); // numpy rot90 (counter-clockwise)
  const flipped = applyAugment(img, d, { ...IDENTITY_DRAW, flip: true });
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.equal(at(flipped, y, x, 1), at(img, y, 7 - x, 1));
  // Crop before flip: the translated image is mirrored.
  const both = applyAugment(img, d, { ...IDENTITY_DRAW, tx: 2, flip: true });
  const shifted = applyAugment(img, d, { ...IDENTITY_DRAW, tx: 2 });
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.equal(at(both, y, x, 0), at(shifted, y, 7 - x, 0));
  assert.deepEqual(applyAugment(img, d, IDENTITY_DRAW), img);
});

function checkDraws(draws: AugmentDraw[], maxShift: number, maxDeg: number): void {
  for (const w of draws) {
    assert.ok(Number.isInteger(w.tx) && Math.abs(w.tx) <= maxShift && Number.isInteger(w.ty) && Math.abs(w.ty) <= maxShift);
    for (const f of [w.brightness, w.contrast, w.saturation]) assert.ok(f >= 0.75 && f <= 1.25, `factor ${f}`);
    assert.ok(Math.abs(w.angleDeg) <= maxDeg, `angle ${w.angleDeg}`);
    assert.deepEqual([...w.jitterOrder].sort(), ['brightness', 'contrast', 'saturation']);
  }
  const ext = (f: (w: AugmentDraw) => number) => [Math.min(...draws.map(f)), Math.max(...draws.map(f))];
  assert.deepEqual(
    ext((w) => w.tx),
    [-maxShift, maxShift],
  );
  assert.deepEqual(
    ext((w) => w.ty),
    [-maxShift, maxShift],
  );
  const [lo, hi] = ext((w) => w.angleDeg);
  assert.ok(lo! < -0.9 * maxDeg && hi! > 0.9 * maxDeg, `angles span ${lo}..${hi}`);
  const [blo, bhi] = ext((w) => w.brightness);
  assert.ok(blo! < 0.77 && bhi! > 1.23);
  const flips = draws.filter((w) => w.flip).length / draws.length;
  assert.ok(flips > 0.4 && flips < 0.6, `flip rate ${flips}`);
  assert.ok(new Set(draws.map((w) => w.jitterOrder.join())).size === 6, 'all six jitter orders occur');
}

test('std and std* draws stay in their ranges and cover them', () => {
  const n = 600;
  const x = new Float32Array(n * size).fill(0.5);
  const std = augmentBatch(x, { ...d, n }, STD, 7, 0);
  checkDraws(std.draws, 4, 2);
  const star = augmentBatch(x, { ...d, n }, STD_STAR, 7, 0);
  checkDraws(star.draws, 3, 30);
  assert.equal(augmentSpec('std*'), STD_STAR);
  assert.equal(augmentSpec('none'), null);
});

test('colour jitter: torchvision semantics, clamped to [0, 1]', () => {
  const img = randomImage(3);
  const grey = (p: number) => 0.2989 * img[p]! + 0.587 * img[p + 1]! + 0.114 * img[p + 2]!;
  const b = img.slice();
  adjustBrightness(b, 1.25);
  b.forEach((v, i) => assert.ok(Math.abs(v - Math.min(1, 1.25 * img[i]!)) < 1e-6));
  // Contrast 0 gives the constant mean grey level; saturation 0 the per-pixel grey level.
  let mean = 0;
  for (let p = 0; p < size; p += 3) mean += grey(p);
  mean /= 64;
  const c0 = img.slice();
  adjustContrast(c0, 3, 0);
  c0.forEach((v) => assert.ok(Math.abs(v - mean) < 1e-6));
  const s0 = img.slice();
  adjustSaturation(s0, 3, 0);
  for (let p = 0; p < size; p += 3) for (let c = 0; c < 3; c++) assert.ok(Math.abs(s0[p + c]! - grey(p)) < 1e-6);
  // Factor 1.25: extrapolation away from the grey level, clamped.
  const c1 = img.slice();
  adjustContrast(c1, 3, 1.25);
  c1.forEach((v, i) => assert.ok(Math.abs(v - Math.min(1, Math.max(0, 1.25 * img[i]! - 0.25 * mean))) < 1e-6));
  // A whole std batch stays in [0, 1].
  const out = augmentBatch(randomImage(4), { ...d, n: 1 }, STD, 1, 3).x;
  out.forEach((v) => assert.ok(v >= 0 && v <= 1));
});

test('augmentation is a pure function of (seed, step, index)', () => {
  const x = new Float32Array(4 * size).map((_, i) => (i % 97) / 97);
  const shape = { ...d, n: 4 };
  const a = augmentBatch(x, shape, STD_STAR, 11, 5);
  assert.deepEqual(augmentBatch(x, shape, STD_STAR, 11, 5), a);
  assert.notDeepEqual(augmentBatch(x, shape, STD_STAR, 11, 6).x, a.x);
  assert.notDeepEqual(augmentBatch(x, shape, STD_STAR, 12, 5).x, a.x);
  // Image 2 alone, redrawn from its own generator, gives the same result.
  const draw = drawAugment(STD_STAR, augmentRng(11, 5, 2));
  assert.deepEqual(draw, a.draws[2]);
  assert.deepEqual(applyAugment(x.subarray(2 * size, 3 * size), d, draw), a.x.subarray(2 * size, 3 * size));
});

test('std and std* batches (native where built, and in TypeScript) equal the plain formulation bit for bit (every draw, flips and crops at the edges)', async () => {
  const { plainApplyAugment } = await import('./helpers/plain-warp.ts');
  for (const dims of [d, { height: 32, width: 32, channels: 3 }, { height: 6, width: 9, channels: 1 }]) {
    const per = dims.height * dims.width * dims.channels;
    const n = 24;
    const x = new Rng(dims.width).fillUniform(new Float32Array(n * per), 0, 1);
    for (const spec of [STD, STD_STAR, { ...STD, name: 'no rotation', maxRotationDeg: 0 }]) {
      for (const step of [0, 7]) {
        const got = augmentBatch(x, { ...dims, n }, spec, 3, step);
        got.draws.forEach((draw, i) => {
          const want = plainApplyAugment(x.subarray(i * per, (i + 1) * per), dims, draw);
          const mine = got.x.subarray(i * per, (i + 1) * per);
          assert.deepEqual(
            new Uint32Array(mine.buffer, mine.byteOffset, per),
            new Uint32Array(want.buffer),
            `${spec.name} image ${i} of step ${step}: ${JSON.stringify(draw)}`,
          );
        });
      }
    }
  }
});
