import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GRID_NAMES, gridMotions, type GridName } from '../ml/attacks/grids.ts';
import { gridAttack, warpInto } from '../ml/attacks/spatial.ts';
import { planWarp, warpBatch, IDENTITY } from '../ml/transform/rigid.ts';
import { Rng } from '../ml/random.ts';
import { FunctionClassifier, brightnessClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;
const uniq = (v: number[]) => [...new Set(v)].sort((a, b) => a - b);

test('the grids have exactly the points docs/method/pgd-and-grids.md lists', () => {
  const expected: Record<GridName, { count: number; t: number[]; rot: (i: number) => number; nRot: number }> = {
    grid775: { count: 775, t: [-3, -1.5, 0, 1.5, 3], rot: (i) => -30 + 2 * i, nRot: 31 },
    grid135: { count: 135, t: [-3, 0, 3], rot: (i) => -30 + (60 / 14) * i, nRot: 15 },
    grid775_10: { count: 775, t: [-3, -1.5, 0, 1.5, 3], rot: (i) => -10 + (20 / 30) * i, nRot: 31 },
    rot30: { count: 31, t: [0], rot: (i) => -30 + 2 * i, nRot: 31 },
    rot10: { count: 31, t: [0], rot: (i) => -10 + (20 / 30) * i, nRot: 31 },
  };
  for (const name of GRID_NAMES) {
    const e = expected[name];
    const m = gridMotions(name);
    assert.equal(m.length, e.count, name);
    assert.deepEqual(uniq(m.map((p) => p.tx)), e.t, `${name} tx`);
    assert.deepEqual(uniq(m.map((p) => p.ty)), e.t, `${name} ty`);
    const rots = uniq(m.map((p) => p.angleDeg));
    assert.equal(rots.length, e.nRot, `${name} rotation count`);
    rots.forEach((r, i) => assert.ok(close(r, e.rot(i)), `${name} rotation ${i}: ${r} vs ${e.rot(i)}`));
    assert.equal(new Set(m.map((p) => `${p.angleDeg},${p.tx},${p.ty}`)).size, e.count, `${name}: points distinct`);
    assert.ok(
      m.some((p) => p.angleDeg === 0 && p.tx === 0 && p.ty === 0),
      `${name} holds the exact identity`,
    );
  }
});

const H = 8,
  W = 8,
  C = 3,
  S = H * W * C;

test('the attack warp: the identity reproduces the input exactly, 90 degrees is the exact pixel permutation', () => {
  const images = new Rng(1).fillUniform(new Float32Array(3 * S), 0, 1);
  const out = new Float32Array(2 * S);
  // Image 2 into slot 0 and image 0 into slot 1: the offsets must be honoured.
  warpInto(planWarp(H, W, IDENTITY), images, 2, out, 0, C);
  assert.deepEqual(out.subarray(0, S), images.subarray(2 * S, 3 * S));
  warpInto(planWarp(H, W, { angleDeg: 90, tx: 0, ty: 0 }), images, 0, out, 1, C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        // Counter-clockwise quarter turn: output (y, x) shows input (x, W-1-y) (numpy's rot90).
        assert.equal(out[S + (y * W + x) * C + c], images[(x * W + (W - 1 - y)) * C + c]);
      }
});

test('early-stopped grid attack agrees with brute force over every point, for any batching', async () => {
  // Colour decides the class (mean of each channel, unchanged in ratio by black fill for a flat
  // image), plus a small random linear term that makes some images sensitive to where things are.
  const rng = new Rng(21);
  const wq = tf.tensor2d(rng.fillNormal(new Float32Array(S * 3)), [S, 3]);
  const model = new FunctionClassifier(3, (x) => tf.add(tf.mean(x, [1, 2]), tf.mul(tf.matMul(tf.reshape(x, [x.shape[0], S]), wq), 0.1 / S)) as tf.Tensor2D);
  const n = 24;
  const images = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    const colour = [rng.float(), rng.float(), rng.float()];
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) images[i * S + p * C + c] = Math.min(1, Math.max(0, colour[c]! + 0.1 * rng.normal()));
  }
  const labels = tf.tidy(() => Array.from(tf.argMax(model.logits(tf.tensor4d(images, [n, H, W, C]), 'eval'), 1).dataSync()));
  for (const name of ['rot30', 'grid135'] as const) {
    const motions = gridMotions(name);
    // Brute force: every point for every image through the rigid module directly.
    const bruteRobust = new Uint8Array(n).fill(1);
    for (const m of motions) {
      const warped = warpBatch(images, { n, height: H, width: W, channels: C }, m);
      const pred = tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(warped, [n, H, W, C]), 'eval'), 1).dataSync());
      for (let i = 0; i < n; i++) if (pred[i] !== labels[i]) bruteRobust[i] = 0;
    }
    const robustCount = bruteRobust.reduce((a, b) => a + b, 0);
    assert.ok(robustCount > 0 && robustCount < n, `${name}: the check needs both outcomes (robust ${robustCount}/${n})`);
    for (const [batchSize, pointsPerRound, exhaustive] of [
      [7, 3, false],
      [64, 32, false],
      [1000, 1000, false],
      [50, 10, true],
    ] as const) {
      const r = await gridAttack(model, images, { height: H, width: W, channels: C }, labels, motions, { batchSize, pointsPerRound, exhaustive });
      assert.deepEqual(r.robust, bruteRobust, `${name} batch ${batchSize} round ${pointsPerRound}`);
      if (exhaustive) assert.equal(r.evaluations, n * motions.length);
      else if (batchSize < n * motions.length) assert.ok(r.evaluations < n * motions.length, 'early stopping saved work');
      else assert.equal(r.evaluations, n * motions.length, 'one batch holds the whole grid');
      for (let i = 0; i < n; i++) {
        if (r.robust[i]) {
          assert.equal(r.foolingPoint[i], -1);
          continue;
        }
        const warped = warpBatch(images.subarray(i * S, (i + 1) * S), { n: 1, height: H, width: W, channels: C }, motions[r.foolingPoint[i]!]!);
        const pred = tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(warped, [1, H, W, C]), 'eval'), 1).dataSync()[0]);
        assert.notEqual(pred, labels[i], `${name}: reported fooling point of image ${i} does fool`);
      }
    }
  }
  wq.dispose();
});

test('a fooled example gets no more work: evaluation counts match the hand count', async () => {
  const white = new Float32Array(S).fill(1);
  const dark = new Float32Array(S).fill(0.1);
  const images = new Float32Array([...white, ...dark]);
  const motions = gridMotions('rot10'); // 31 points; the strongest (+-10 degrees, tried first) fool the white image
  const shape = { height: H, width: W, channels: C };
  // Rounds of 5 points (7 rounds), one big batch per round: round 1 costs 2 x 5, then 26 for the dark one.
  let r = await gridAttack(brightnessClassifier(), images, shape, [1, 0], motions, { batchSize: 1000, pointsPerRound: 5 });
  assert.deepEqual([...r.robust], [0, 1]);
  assert.equal(r.evaluations, 10 + 26);
  // Batches of one: the white image is dropped right after its first (strongest) point.
  r = await gridAttack(brightnessClassifier(), images, shape, [1, 0], motions, { batchSize: 1, pointsPerRound: 5 });
  assert.deepEqual([...r.robust], [0, 1]);
  assert.equal(r.evaluations, 1 + 5 + 26);
});
