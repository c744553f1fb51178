import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { apgdBatch } from '../ml/attacks/apgd.ts';
import { squareBatch, squareFraction } from '../ml/attacks/square.ts';
import { Rng } from '../ml/random.ts';

import { FunctionClassifier, useCpu, rngsFor } from './attacks-helpers.ts';

before(useCpu);

const H = 8,
  W = 8,
  C = 3,
  D = H * W * C,
  K = 10;

/**
 * logits = floor(1000 (xW + b)) / 1000: a linear model seen through a fine staircase, whose
 * gradient is zero everywhere (the masked-gradient defence in miniature). Also returns the plain
 * weights to compute the minimal flips.
 */
function maskedLinear(seed: number): { model: FunctionClassifier; w: Float32Array; b: Float32Array } {
  const rng = new Rng(seed);
  const w = rng.fillNormal(new Float32Array(D * K));
  const b = rng.fillNormal(new Float32Array(K), 0, 0.3);
  const wt = tf.tensor2d(w, [D, K]);
  const bt = tf.tensor1d(b);
  const model = new FunctionClassifier(
    K,
    (x) => tf.div(tf.floor(tf.mul(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], D]), wt), bt), 1000)), 1000) as tf.Tensor2D,
  );
  return { model, w, b };
}

function minimal(w: Float32Array, b: Float32Array, x: Float32Array, y: number, norm: 'l2' | 'linf'): number {
  let best = Infinity;
  for (let j = 0; j < K; j++) {
    if (j === y) continue;
    let m = b[y]! - b[j]!;
    let dual = 0;
    for (let p = 0; p < D; p++) {
      const d = w[p * K + y]! - w[p * K + j]!;
      m += d * x[p]!;
      dual += norm === 'l2' ? d * d : Math.abs(d);
    }
    best = Math.min(best, m / (norm === 'l2' ? Math.sqrt(dual) : dual));
  }
  return best;
}

test('the window fraction halves at the schedule points of the budget', () => {
  assert.equal(squareFraction(0.8, 0, 10000), 0.8);
  assert.equal(squareFraction(0.8, 10, 10000), 0.8);
  assert.equal(squareFraction(0.8, 11, 10000), 0.4);
  assert.equal(squareFraction(0.8, 51, 10000), 0.2);
  assert.equal(squareFraction(0.8, 9999, 10000), 0.8 / 512);
  // Rescaled to the budget: 1 % of 5000 queries is past the 0.5 % point, not past the 2 % point.
  assert.equal(squareFraction(0.8, 50, 5000), 0.2);
});

for (const norm of ['l2', 'linf'] as const) {
  test(`Square (${norm}) breaks a model whose gradient is useless where APGD cannot, and stays in the ball`, () => {
    const { model, w, b } = maskedLinear(norm === 'l2' ? 61 : 62);
    const n = 8;
    const x0 = new Rng(63).fillUniform(new Float32Array(n * D), 0.3, 0.7);
    const xt = tf.tensor4d(x0, [n, H, W, C]);
    const z = tf.tidy(() => model.logits(xt, 'eval').arraySync() as number[][]);
    const labels = z.map((row) => row.indexOf(Math.max(...row)));
    const yt = tf.tensor1d(labels, 'int32');
    // One eps per batch: twice the largest minimal flip, so every image can be broken.
    const eps = 2 * Math.max(...labels.map((y, i) => minimal(w, b, x0.subarray(i * D, (i + 1) * D), y, norm)));
    const a = apgdBatch(model, xt, yt, { norm, eps, iterations: 20, restarts: 1, loss: 'ce', rngs: rngsFor(n, 1) });
    const s = squareBatch(model, xt, yt, { norm, eps, queries: 1000, pInit: 0.3, rngs: rngsFor(n, 2) });
    const adv = s.adversarial.dataSync();
    const after = tf.tidy(() => model.logits(s.adversarial, 'eval').arraySync() as number[][]);
    let squareFooled = 0;
    for (let i = 0; i < n; i++) {
      let size = 0;
      for (let p = 0; p < D; p++) {
        const d = Math.abs(adv[i * D + p]! - x0[i * D + p]!);
        size = norm === 'l2' ? size + d * d : Math.max(size, d);
        assert.ok(adv[i * D + p]! >= 0 && adv[i * D + p]! <= 1, 'in the box');
      }
      if (norm === 'l2') size = Math.sqrt(size);
      assert.ok(size <= eps * (1 + 1e-5) + 1e-6, `image ${i}: ${size} > eps ${eps}`);
      const pred = after[i]!.indexOf(Math.max(...after[i]!));
      assert.equal(s.fooled[i], pred !== labels[i] ? 1 : 0, `image ${i}: 'fooled' agrees with the returned point`);
      squareFooled += s.fooled[i]!;
    }
    const apgdFooled = a.fooled.reduce((t, v) => t + v, 0);
    assert.equal(apgdFooled, 0, 'APGD gets no gradient, so only its random start could have flipped a point');
    assert.ok(squareFooled >= n - 1, `Square fooled ${squareFooled} of ${n}`);
    tf.dispose([xt, yt, a.adversarial, s.adversarial]);
  });
}

test('Square: same seed, same bits; eps = 0 changes nothing', () => {
  const { model } = maskedLinear(71);
  const n = 4;
  const x0 = new Rng(72).fillUniform(new Float32Array(n * D), 0, 1);
  const xt = tf.tensor4d(x0, [n, H, W, C]);
  const yt = tf.tensor1d([0, 1, 2, 3], 'int32');
  for (const norm of ['l2', 'linf'] as const) {
    const run = (eps: number) => {
      const r = squareBatch(model, xt, yt, { norm, eps, queries: 60, pInit: 0.5, rngs: rngsFor(n, 3) });
      const v = r.adversarial.dataSync() as Float32Array;
      r.adversarial.dispose();
      return { v, fooled: r.fooled, q: r.queriesUsed };
    };
    const [p, q] = [run(0.5), run(0.5)];
    assert.deepEqual(p.v, q.v);
    assert.deepEqual(p.q, q.q);
    assert.deepEqual(run(0).v, x0);
  }
  assert.throws(() => squareBatch(model, xt, yt, { norm: 'l2', eps: 1, queries: 0, pInit: 0.5, rngs: rngsFor(n, 1) }), /queries/);
  tf.dispose([xt, yt]);
});
