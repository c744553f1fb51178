// The labels a grid attack computed, reused by the next attack on the same model (ml/attacks/
// prediction-memo.ts): the same results and evaluation counts as without the memo, fewer forward
// passes, and nothing served for another model, another image or another motion.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gridMotions } from '../ml/attacks/grids.ts';
import { gridAttack, type KnownLabels } from '../ml/attacks/spatial.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { attackPreset } from '../ml/attacks/config.ts';
import { PredictionMemo, memoSafeBackend } from '../ml/attacks/prediction-memo.ts';
import { Rng } from '../ml/random.ts';
import { ArrayImageSet, FunctionClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

const H = 8,
  W = 8,
  C = 3,
  S = H * W * C;
const shape = { height: H, width: W, channels: C };

/** A classifier whose label depends on colour and, a little, on where things are; it counts its calls. */
function positionalModel(seed: number): { model: FunctionClassifier; forwarded: () => number; dispose: () => void } {
  const rng = new Rng(seed);
  const wq = tf.tensor2d(rng.fillNormal(new Float32Array(S * 3)), [S, 3]);
  let images = 0;
  const model = new FunctionClassifier(3, (x) => {
    images += x.shape[0];
    return tf.add(tf.mean(x, [1, 2]), tf.mul(tf.matMul(tf.reshape(x, [x.shape[0], S]), wq), 0.1 / S)) as tf.Tensor2D;
  });
  return { model, forwarded: () => images, dispose: () => wq.dispose() };
}

function colourImages(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const images = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    const colour = [rng.float(), rng.float(), rng.float()];
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) images[i * S + p * C + c] = Math.min(1, Math.max(0, colour[c]! + 0.1 * rng.normal()));
  }
  return images;
}

const labelsOf = (model: FunctionClassifier, images: Float32Array, n: number) =>
  tf.tidy(() => Array.from(tf.argMax(model.logits(tf.tensor4d(images, [n, H, W, C]), 'eval'), 1).dataSync()));

test('the memo is used only on backends whose labels do not depend on the batch', () => {
  // test/backend-batch-invariance measures that the trusted ones are.
  assert.equal(memoSafeBackend('cpu'), true);
  assert.equal(memoSafeBackend('native'), true);
  assert.equal(memoSafeBackend('webgpu'), false, "webgpu's logits depend on the batch (docs/gpu.md)");
  assert.equal(memoSafeBackend('tensorflow'), false, 'cuDNN picks algorithms by batch size');
  assert.equal(memoSafeBackend('wasm'), true);
});

test('grid attacks after grid775 on the same model: the same outcome and counts as fresh ones, fewer images forwarded', async () => {
  const n = 24;
  const images = colourImages(n, 21);
  const { model, forwarded, dispose } = positionalModel(21);
  const labels = labelsOf(model, images, n);
  const memo = new PredictionMemo();
  memo.enter('model-a');
  const sequence = ['grid775', 'grid775_10', 'rot30', 'rot10', 'grid135'] as const;
  let saved = 0;
  for (const [batchSize, pointsPerRound] of [
    [7, 3],
    [64, 32],
  ] as const) {
    memo.clear();
    memo.enter('model-a');
    for (const name of sequence) {
      const motions = gridMotions(name);
      const options = { batchSize, pointsPerRound };
      const before0 = forwarded();
      const fresh = await gridAttack(model, images, shape, labels, motions, options);
      const freshImages = forwarded() - before0;
      const before1 = forwarded();
      const known = memo.view(images, n, S, motions);
      const reused = await gridAttack(model, images, shape, labels, motions, { ...options, known });
      const reusedImages = forwarded() - before1;
      const what = `${name} at batch ${batchSize}, rounds of ${pointsPerRound}`;
      assert.deepEqual(reused.robust, fresh.robust, what);
      assert.deepEqual(reused.foolingPoint, fresh.foolingPoint, what);
      assert.equal(reused.evaluations, fresh.evaluations, `${what}: the same pairs evaluated`);
      assert.equal(freshImages, fresh.evaluations, `${what}: without the memo every pair is forwarded`);
      assert.equal(reusedImages, reused.computed, `${what}: the model saw exactly the pairs not known`);
      if (name === 'grid775') assert.equal(reused.computed, reused.evaluations, 'nothing known before the first attack');
      else saved += reused.evaluations - reused.computed;
      if (name === 'rot30') assert.ok(reused.computed < reused.evaluations, 'rot30 lies inside grid775');
    }
  }
  assert.ok(saved > 0);
  dispose();
});

test('the memo serves nothing for another model, altered pixels or another motion', () => {
  const images = colourImages(2, 3);
  const motions = [{ angleDeg: 2, tx: 0, ty: 0 }];
  const memo = new PredictionMemo();
  assert.throws(() => memo.view(images, 2, S, motions), /enter a scope/);
  memo.enter('model-a');
  const a: KnownLabels = memo.view(images, 2, S, motions);
  a.set(0, 0, 1);
  a.set(1, 0, 2);
  assert.equal(memo.view(images, 2, S, motions).get(1, 0), 2, 'the same model, image and motion: served');
  memo.enter('model-a');
  assert.equal(memo.view(images, 2, S, motions).get(0, 0), 1, 'entering the same scope keeps it');
  const altered = images.slice();
  altered[S + 5] = Math.fround(altered[S + 5]! + 1e-6);
  const v = memo.view(altered, 2, S, motions);
  assert.deepEqual([v.get(0, 0), v.get(1, 0)], [1, -1], 'one altered value: that image is unknown');
  assert.equal(memo.view(images, 2, S, [{ angleDeg: 2.000000000000001, tx: 0, ty: 0 }]).get(0, 0), -1, 'a motion differing in the last bit');
  assert.equal(memo.view(images, 2, S, [{ angleDeg: 2, tx: 0, ty: -0 }]).get(0, 0), -1, '-0 is not 0');
  memo.enter('model-b');
  const b = memo.view(images, 2, S, motions);
  assert.deepEqual([b.get(0, 0), b.get(1, 0)], [-1, -1], 'another model digest is never served');
  assert.throws(() => b.set(0, 0, 40000), /does not fit/);
});

test('evaluateAttack with the memo: identical figures to fresh evaluations, and the natural pass of `none` is not run again', async () => {
  const n = 30;
  const images = colourImages(n, 8);
  const { model, forwarded, dispose } = positionalModel(8);
  // Every fifth label wrong, so some images are not right untouched.
  const labels = Uint8Array.from(labelsOf(model, images, n), (l, i) => (i % 5 === 0 ? (l + 1) % 3 : l));
  const set = new ArrayImageSet(images, labels, H, W, C, 3);
  const memo = { memo: new PredictionMemo(), scope: 'model-a' };
  for (const name of ['grid775', 'rot30', 'grid135', 'none'] as const) {
    const fresh = await evaluateAttack(model, set, attackPreset(name), { batchSize: 16 });
    const start = forwarded();
    const reused = await evaluateAttack(model, set, attackPreset(name), { batchSize: 16, memo });
    const ran = forwarded() - start;
    const { gridComputed, ...same } = reused;
    const { gridComputed: freshComputed, ...expected } = fresh;
    assert.deepEqual(same, expected, name);
    assert.equal(freshComputed, fresh.gridEvaluations);
    if (name === 'none') assert.equal(ran, 0, 'every untouched label was known');
    else if (name !== 'grid775') assert.ok(gridComputed! < reused.gridEvaluations!, `${name} reused grid775's labels`);
  }
  dispose();
});
