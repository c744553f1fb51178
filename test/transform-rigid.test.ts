import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planWarp, applyWarp, warpBatch, IDENTITY } from '../ml/transform/rigid.ts';
import { Rng } from '../ml/random.ts';

const H = 8,
  W = 8,
  C = 3;
const shape = { n: 1, height: H, width: W, channels: C };
function randomImage(seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(H * W * C), 0, 1);
}
const at = (img: Float32Array, y: number, x: number, c: number) => img[(y * W + x) * C + c]!;

test('identity reproduces the input exactly', () => {
  const img = randomImage(1);
  assert.deepEqual(warpBatch(img, shape, IDENTITY), img);
});

test('90 degrees counter-clockwise is the exact rot90 permutation', () => {
  const img = randomImage(2);
  const out = warpBatch(img, shape, { angleDeg: 90, tx: 0, ty: 0 });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) assert.equal(at(out, y, x, c), at(img, x, W - 1 - y, c)); // numpy rot90
});

test('180 degrees flips both axes; -90 is the inverse of 90', () => {
  const img = randomImage(3);
  const out = warpBatch(img, shape, { angleDeg: 180, tx: 0, ty: 0 });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(at(out, y, x, 1), at(img, H - 1 - y, W - 1 - x, 1));
  const back = warpBatch(warpBatch(img, shape, { angleDeg: 90, tx: 0, ty: 0 }), shape, { angleDeg: -90, tx: 0, ty: 0 });
  assert.deepEqual(back, img);
});

test('integer translation moves content right/down by the drawn pixels, filling black', () => {
  const img = randomImage(4);
  const out = warpBatch(img, shape, { angleDeg: 0, tx: 2, ty: -1 });
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const sy = y + 1,
        sx = x - 2;
      const expected = sy >= 0 && sy < H && sx >= 0 && sx < W ? at(img, sy, sx, 0) : 0;
      assert.equal(at(out, y, x, 0), expected);
    }
});

test('half-pixel translation is the bilinear average of two neighbours', () => {
  const img = randomImage(5);
  const out = warpBatch(img, shape, { angleDeg: 0, tx: 0.5, ty: 0 });
  for (let y = 0; y < H; y++)
    for (let x = 1; x < W; x++) {
      const expected = 0.5 * at(img, y, x - 1, 2) + 0.5 * at(img, y, x, 2);
      assert.ok(Math.abs(at(out, y, x, 2) - expected) < 1e-6);
    }
  for (let y = 0; y < H; y++) assert.ok(Math.abs(at(out, y, 0, 2) - 0.5 * at(img, y, 0, 2)) < 1e-6);
});

test('rotation happens before translation', () => {
  const img = randomImage(6);
  const both = warpBatch(img, shape, { angleDeg: 90, tx: 1, ty: 0 });
  const seq = warpBatch(warpBatch(img, shape, { angleDeg: 90, tx: 0, ty: 0 }), shape, { angleDeg: 0, tx: 1, ty: 0 });
  assert.deepEqual(both, seq);
});

test('a small rotation keeps the centre pixel and mass of a constant image inside the disc', () => {
  const ones = new Float32Array(H * W * C).fill(1);
  const out = warpBatch(ones, shape, { angleDeg: 17, tx: 0, ty: 0 });
  // Pixels near the centre sample fully inside the image: value 1 exactly up to rounding.
  assert.ok(Math.abs(at(out, 3, 4, 0) - 1) < 1e-6);
  // Corners rotate out of the image and get black fill (partially).
  assert.ok(at(out, 0, 0, 0) < 1);
});

test('per-image motions apply to their own image', () => {
  const a = randomImage(7),
    b = randomImage(8);
  const batch = new Float32Array([...a, ...b]);
  const out = warpBatch(batch, { ...shape, n: 2 }, [IDENTITY, { angleDeg: 90, tx: 0, ty: 0 }]);
  assert.deepEqual(out.subarray(0, a.length), a);
  const plan = planWarp(H, W, { angleDeg: 90, tx: 0, ty: 0 });
  const single = new Float32Array(b.length);
  applyWarp(plan, b, single, C);
  assert.deepEqual(out.subarray(a.length), single);
});
