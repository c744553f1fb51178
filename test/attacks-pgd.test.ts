import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { pgdBatch, type PgdOptions } from '../ml/attacks/pgd.ts';
import { Rng } from '../ml/random.ts';
import { FunctionClassifier, LinearClassifier, TinyConvNet, useCpu } from './attacks-helpers.ts';

before(useCpu);

const H = 4,
  W = 4,
  C = 3,
  D = H * W * C;

/** A two-class linear model: the cross-entropy of either class is monotone in (w_other - w_y) . x. */
function binaryLinear(seed: number): { model: LinearClassifier; w: Float32Array } {
  const rng = new Rng(seed);
  const w = rng.fillNormal(new Float32Array(D * 2));
  return { model: new LinearClassifier(2, w, new Float32Array([0.1, -0.2])), w };
}

/** d = w_other - w_y for label y (the direction that raises the loss of y fastest). */
function direction(w: Float32Array, y: number): Float64Array {
  const d = new Float64Array(D);
  for (let j = 0; j < D; j++) d[j] = w[j * 2 + (1 - y)]! - w[j * 2 + y]!;
  return d;
}

function run(model: LinearClassifier | TinyConvNet | FunctionClassifier, x0: Float32Array, n: number, labels: number[], o: PgdOptions) {
  const x = tf.tensor4d(x0, [n, H, W, C]);
  const y = tf.tensor1d(labels, 'int32');
  const r = pgdBatch(model, x, y, o);
  const adv = r.adversarial.dataSync() as Float32Array;
  const loss = r.loss.dataSync() as Float32Array;
  tf.dispose([x, y, r.adversarial, r.loss]);
  return { adv, loss };
}

test('L2-PGD on a linear model reaches the closed-form optimum x0 + eps d/||d|| (untargeted and targeted)', () => {
  const { model, w } = binaryLinear(1);
  const n = 4;
  const labels = [0, 1, 1, 0];
  // Inside the box by a margin larger than eps, so the clamp is inactive and the optimum is the ball's.
  const x0 = new Rng(2).fillUniform(new Float32Array(n * D), 0.4, 0.6);
  const eps = 0.25;
  for (const targeted of [false, true]) {
    const attackLabels = targeted ? labels.map((y) => 1 - y) : labels;
    const { adv } = run(model, x0, n, attackLabels, { norm: 'l2', eps, step: 0.1, iterations: 10, targeted });
    for (let i = 0; i < n; i++) {
      const d = direction(w, labels[i]!);
      const dn = Math.hypot(...d);
      let err = 0;
      for (let j = 0; j < D; j++) err = Math.max(err, Math.abs(adv[i * D + j]! - (x0[i * D + j]! + (eps * d[j]!) / dn)));
      assert.ok(err < 1e-5, `targeted=${targeted} example ${i}: max deviation from closed form ${err}`);
    }
  }
  model.dispose();
});

test('Linf-PGD on a linear model reaches the box-constrained optimum clip(x0 + eps sign(d), 0, 1)', () => {
  const { model, w } = binaryLinear(3);
  const n = 4;
  const labels = [1, 0, 0, 1];
  // Anywhere in [0, 1], so the clamp is active for many pixels: the optimum is separable per pixel.
  const x0 = new Rng(4).fillUniform(new Float32Array(n * D), 0, 1);
  const eps = 0.1;
  const { adv } = run(model, x0, n, labels, { norm: 'linf', eps, step: eps / 4, iterations: 7 });
  let clamped = 0;
  for (let i = 0; i < n; i++) {
    const d = direction(w, labels[i]!);
    for (let j = 0; j < D; j++) {
      const raw = x0[i * D + j]! + eps * Math.sign(d[j]!);
      const want = Math.min(1, Math.max(0, raw));
      if (want !== raw) clamped++;
      assert.ok(Math.abs(adv[i * D + j]! - want) < 1e-6, `example ${i} pixel ${j}: ${adv[i * D + j]} vs ${want}`);
    }
  }
  assert.ok(clamped > 5, `the box constraint should matter somewhere (clamped ${clamped})`);
  model.dispose();
});

test('every iterate stays in the eps-ball and in [0, 1] (both norms, random start, targeted or not)', () => {
  const model = new TinyConvNet(3, C, 5);
  const n = 5;
  const x0 = new Rng(6).fillUniform(new Float32Array(n * D), 0, 1);
  const x0t = tf.tensor4d(x0, [n, H, W, C]);
  for (const norm of ['l2', 'linf'] as const) {
    for (const targeted of [false, true]) {
      const eps = norm === 'l2' ? 0.3 : 0.05;
      let seen = 0;
      run(model, x0, n, [0, 1, 2, 0, 1], {
        norm,
        eps,
        step: norm === 'l2' ? 0.2 : eps / 2,
        iterations: 8,
        targeted,
        randomStart: true,
        rng: new Rng(7),
        onIterate: (x) => {
          seen++;
          const v = x.dataSync();
          const delta = tf.tidy(() => tf.sub(x, x0t).reshape([n, D]).arraySync() as number[][]);
          for (let i = 0; i < n; i++) {
            const l2 = Math.hypot(...delta[i]!);
            const linf = Math.max(...delta[i]!.map(Math.abs));
            if (norm === 'l2') assert.ok(l2 <= eps * (1 + 1e-6), `L2 ${l2} > eps ${eps}`);
            else assert.ok(linf <= eps + 1e-7, `Linf ${linf} > eps ${eps}`);
          }
          for (const p of v) assert.ok(p >= 0 && p <= 1, `pixel ${p} outside [0, 1]`);
        },
      });
      assert.equal(seen, 9, 'start and 8 iterates checked');
    }
  }
  x0t.dispose();
  model.dispose();
});

test('eps = 0 returns the input unchanged', () => {
  const model = new TinyConvNet(3, C, 8);
  const x0 = new Rng(9).fillUniform(new Float32Array(3 * D), 0, 1);
  for (const norm of ['l2', 'linf'] as const) {
    const { adv } = run(model, x0, 3, [0, 1, 2], { norm, eps: 0, step: 0.1, iterations: 5 });
    assert.deepEqual(adv, x0);
  }
  model.dispose();
});

test('returns the best iterate, not the last: an overshooting walk around a loss minimum', () => {
  // logits = [0, -a ||x - c||^2]. Both the targeted attack toward class 1 (descending CE(1)) and the
  // untargeted attack on label 0 (ascending CE(0)) want x -> c; with step 0.1 from distance 0.07 the
  // walk alternates between distance 0.07 and 0.03 on the other side of c, ending at distance 0.07.
  const a = 100;
  const c = 0.5;
  const model = new FunctionClassifier(2, (x) => {
    const d2 = tf.sum(tf.square(tf.sub(x, c)), [1, 2, 3]);
    return tf.stack([tf.zerosLike(d2), tf.mul(d2, -a)], 1) as tf.Tensor2D;
  });
  const u = new Rng(10).fillNormal(new Float32Array(D));
  const un = Math.hypot(...u);
  const x0 = Float32Array.from(u, (v) => c + (0.07 * v) / un);
  for (const [label, targeted] of [
    [1, true],
    [0, false],
  ] as const) {
    let last: Float32Array | undefined;
    const { adv, loss } = run(model, x0, 1, [label], {
      norm: 'l2',
      eps: 10,
      step: 0.1,
      iterations: 4,
      targeted,
      onIterate: (x) => {
        last = x.dataSync() as Float32Array;
      },
    });
    const lastDist = Math.hypot(...last!.map((v, j) => v - x0[j]!));
    assert.ok(lastDist < 1e-5, `the last iterate is back at the start (${lastDist})`);
    for (let j = 0; j < D; j++) assert.ok(Math.abs(adv[j]! - (c - (0.03 * u[j]!) / un)) < 1e-5, `pixel ${j}`);
    const want = Math.log1p(Math.exp(label === 1 ? a * 0.0009 : -a * 0.0009));
    assert.ok(Math.abs(loss[0]! - want) < 1e-4, `recorded loss ${loss[0]} vs ${want}`);
  }
});

test('no tensor leaks: the live tensor count is the same at every iteration and after the call', () => {
  const model = new TinyConvNet(3, C, 11);
  const x = tf.tensor4d(new Rng(12).fillUniform(new Float32Array(4 * D), 0, 1), [4, H, W, C]);
  const y = tf.tensor1d([0, 1, 2, 1], 'int32');
  for (const norm of ['l2', 'linf'] as const) {
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const r = pgdBatch(model, x, y, {
      norm,
      eps: 0.3,
      step: 0.1,
      iterations: 6,
      randomStart: true,
      rng: new Rng(1),
      onIterate: () => counts.push(tf.memory().numTensors),
    });
    tf.dispose([r.adversarial, r.loss]);
    assert.equal(tf.memory().numTensors, before, `${norm}: tensors left behind`);
    assert.equal(new Set(counts.slice(2)).size, 1, `${norm}: live tensors per iteration ${counts.join(',')}`);
  }
  tf.dispose([x, y]);
  model.dispose();
});

test('bad options are rejected with a message naming the problem', () => {
  const model = new TinyConvNet(3, C, 13);
  const x = tf.zeros([1, H, W, C]) as tf.Tensor4D;
  const y = tf.tensor1d([0], 'int32');
  assert.throws(() => pgdBatch(model, x, y, { norm: 'l2', eps: -1, step: 0.1, iterations: 1 }), /eps/);
  assert.throws(() => pgdBatch(model, x, y, { norm: 'l2', eps: 1, step: 0, iterations: 1 }), /step/);
  assert.throws(() => pgdBatch(model, x, y, { norm: 'l2', eps: 1, step: 0.1, iterations: 1, randomStart: true }), /rng/);
  tf.dispose([x, y]);
  model.dispose();
});
