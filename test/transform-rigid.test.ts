import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planWarp, applyWarp, applyWarpJs, warpBatch, warpImage3, IDENTITY } from '../ml/transform/rigid.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';
import { nativeSkip } from './helpers/services.ts';
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

test('planWarp, applyWarp (native where built, and in TypeScript) and warpImage3 equal the plain formulation bit for bit (1 and 3 channels, every kind of motion)', async () => {
  const { plainApplyWarp, plainPlanWarp } = await import('./helpers/plain-warp.ts');
  const rng = new Rng(31);
  const motions = [IDENTITY, { angleDeg: 90, tx: 0, ty: 0 }, { angleDeg: -180, tx: 1, ty: -2 }, { angleDeg: 30, tx: 3, ty: 3 }];
  for (let i = 0; i < 40; i++)
    motions.push({ angleDeg: rng.uniform(-35, 35), tx: i % 3 === 0 ? rng.int(7) - 3 : rng.uniform(-3, 3), ty: i % 4 === 0 ? 0 : rng.uniform(-3, 3) });
  for (const [h, w] of [
    [8, 8],
    [7, 12],
  ] as const) {
    for (const channels of [1, 3]) {
      const images = rng.fillUniform(new Float32Array(2 * h * w * channels), -0.5, 1.5);
      for (const m of motions) {
        const plan = planWarp(h, w, m);
        const want = plainPlanWarp(h, w, m);
        assert.deepEqual(plan.src, want.src, `plan corners of ${JSON.stringify(m)}`);
        assert.deepEqual(new Uint32Array(plan.weight.buffer), new Uint32Array(want.weight.buffer), `plan weights of ${JSON.stringify(m)}`);
        const got = new Float32Array(images.length).fill(7);
        const ref = new Float32Array(images.length).fill(7);
        applyWarp(plan, images, got, channels, 0, 2);
        plainApplyWarp(want, images, ref, channels, 0, 2);
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(ref.buffer), `${h}x${w}x${channels} warped by ${JSON.stringify(m)}`);
        const js = new Float32Array(images.length).fill(7);
        applyWarpJs(plan, images, js, channels, 0, 2);
        assert.deepEqual(new Uint32Array(js.buffer), new Uint32Array(ref.buffer), `in TypeScript, ${h}x${w}x${channels} warped by ${JSON.stringify(m)}`);
        if (channels === 3) {
          const one = new Float32Array(h * w * 3);
          warpImage3(m, h, w, images.subarray(0, h * w * 3), one);
          assert.deepEqual(new Uint32Array(one.buffer), new Uint32Array(ref.buffer, 0, h * w * 3), `warpImage3 by ${JSON.stringify(m)}`);
        }
      }
    }
  }
});

test('the native warp kernel is the one applyWarp runs where the addon is built', { skip: nativeSkip() }, () => {
  assert.equal(typeof loadNativeAddon()?.warpRigid, 'function', 'the built addon has warpRigid (rebuild with npm run build:native)');
});
