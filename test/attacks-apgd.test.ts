import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { apgdBatch, apgdCheckpoints, type ApgdOptions } from '../ml/attacks/apgd.ts';
import { Rng } from '../ml/random.ts';

import type { Classifier } from '../ml/models/classifier.ts';
import { FunctionClassifier, LinearClassifier, TinyConvNet, argmaxRows, minimalFlip, useCpu, rngsFor } from './attacks-helpers.ts';

before(useCpu);

const H = 4,
  W = 4,
  C = 3,
  D = H * W * C;

/** A K-class linear model with random weights (row-major [D, K] as LinearClassifier takes them). */
function linear(seed: number, k: number): { model: LinearClassifier; w: Float32Array; b: Float32Array } {
  const rng = new Rng(seed);
  const w = rng.fillNormal(new Float32Array(D * k));
  const b = rng.fillNormal(new Float32Array(k), 0, 0.3);
  return { model: new LinearClassifier(k, w, b), w, b };
}

function attack(model: Classifier, x0: Float32Array, n: number, labels: number[], o: Omit<ApgdOptions, 'targets'> & { targets?: number[] }) {
  const x = tf.tensor4d(x0, [n, H, W, C]);
  const y = tf.tensor1d(labels, 'int32');
  const t = o.targets ? tf.tensor1d(o.targets, 'int32') : undefined;
  const { targets: _, ...rest } = o;
  const r = apgdBatch(model, x, y, { ...rest, ...(t ? { targets: t } : {}) });
  const adv = r.adversarial.dataSync() as Float32Array;
  const logits = tf.tidy(() => model.logits(r.adversarial, 'eval').dataSync() as Float32Array);
  tf.dispose([x, y, r.adversarial, ...(t ? [t] : [])]);
  return { adv, fooled: r.fooled, pred: argmaxRows(logits, model.numClasses), loss: r.loss };
}

function distance(a: Float32Array, b: Float32Array, i: number, norm: 'l2' | 'linf'): number {
  let s = 0;
  for (let p = 0; p < D; p++) {
    const d = Math.abs(a[i * D + p]! - b[i * D + p]!);
    s = norm === 'l2' ? s + d * d : Math.max(s, d);
  }
  return norm === 'l2' ? Math.sqrt(s) : s;
}

test('checkpoints follow p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)', () => {
  // p: 0, .22, .41, .57, .70, .80, .87, .93, .99 -> ceil(100 p) below 100.
  assert.deepEqual(apgdCheckpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
  assert.deepEqual(apgdCheckpoints(10), [0, 3, 5, 6, 7, 8, 9]);
});

for (const norm of ['l2', 'linf'] as const) {
  test(`APGD-CE (${norm}) on a binary linear model flips a point iff eps exceeds the closed-form minimal perturbation`, () => {
    const k = 2;
    const { model, w, b } = linear(norm === 'l2' ? 21 : 22, k);
    const n = 6;
    // Well inside the box: the minimal perturbations below are far smaller than the distance to it.
    const x0 = new Rng(23).fillUniform(new Float32Array(n * D), 0.45, 0.55);
    const logits = tf.tidy(() => model.logits(tf.tensor4d(x0, [n, H, W, C]), 'eval').dataSync() as Float32Array);
    const labels = argmaxRows(logits, k); // right untouched by construction
    const minimal = labels.map((y, i) => minimalFlip(w, b, k, x0.subarray(i * D, (i + 1) * D), y, norm).dist);
    const scale = norm === 'l2' ? 0.4 : 0.2;
    for (const factor of [1.03, 0.97]) {
      for (let i = 0; i < n; i++) {
        const eps = minimal[i]! * factor;
        assert.ok(eps < scale, `test setup: the minimal perturbation ${minimal[i]} should be small`);
        const r = attack(model, x0.subarray(i * D, (i + 1) * D), 1, [labels[i]!], { norm, eps, iterations: 30, restarts: 1, loss: 'ce', rngs: rngsFor(1, i) });
        const dist = distance(r.adv, x0.subarray(i * D, (i + 1) * D), 0, norm);
        assert.ok(dist <= eps * (1 + 1e-5) + 1e-7, `never beyond eps: ${dist} > ${eps}`);
        assert.equal(r.fooled[0], factor > 1 ? 1 : 0, `image ${i} eps = ${factor} x minimal ${minimal[i]}: fooled ${r.fooled[0]}`);
        assert.equal(r.pred[0] !== labels[i], factor > 1, `image ${i}: returned point's class agrees with 'fooled'`);
      }
    }
    model.dispose();
  });

  test(`APGD-T (${norm}, targeted DLR) toward the nearest class on a 10-class linear model reaches within 3 % of the minimal perturbation`, () => {
    const k = 10;
    const { model, w, b } = linear(norm === 'l2' ? 31 : 32, k);
    const n = 8;
    const x0 = new Rng(33).fillUniform(new Float32Array(n * D), 0.45, 0.55);
    const logits = tf.tidy(() => model.logits(tf.tensor4d(x0, [n, H, W, C]), 'eval').dataSync() as Float32Array);
    const labels = argmaxRows(logits, k);
    const flips = labels.map((y, i) => minimalFlip(w, b, k, x0.subarray(i * D, (i + 1) * D), y, norm));
    for (const factor of [1.03, 0.97]) {
      const eps = flips.map((f) => f.dist * factor);
      for (let i = 0; i < n; i++) {
        const r = attack(model, x0.subarray(i * D, (i + 1) * D), 1, [labels[i]!], {
          norm,
          eps: eps[i]!,
          iterations: 50,
          restarts: 1,
          loss: 'dlr-targeted',
          targets: [flips[i]!.cls],
          rngs: rngsFor(1, 100 + i),
        });
        assert.ok(distance(r.adv, x0.subarray(i * D, (i + 1) * D), 0, norm) <= eps[i]! * (1 + 1e-5) + 1e-7, 'never beyond eps');
        assert.equal(r.fooled[0], factor > 1 ? 1 : 0, `image ${i} eps = ${factor} x minimal: fooled ${r.fooled[0]}`);
      }
    }
    model.dispose();
  });
}

test('every iterate stays in the eps-ball and the box; same seed, same bits; restarts only help', () => {
  const model = new TinyConvNet(10, C, 41);
  const n = 6;
  const x0 = new Rng(42).fillUniform(new Float32Array(n * D), 0, 1);
  const x0t = tf.tensor4d(x0, [n, H, W, C]);
  const labels = [0, 1, 2, 3, 4, 5];
  for (const norm of ['l2', 'linf'] as const) {
    const eps = norm === 'l2' ? 0.2 : 0.02;
    let seen = 0;
    const opts = { norm, eps, iterations: 12, restarts: 2, loss: 'ce' as const };
    const a = attack(model, x0, n, labels, {
      ...opts,
      rngs: rngsFor(n, 5),
      onIterate: (x, _it, _restart, rows) => {
        seen++;
        assert.equal(rows.length, x.shape[0]);
        const d = tf.tidy(() => tf.sub(x, tf.gather(x0t, tf.tensor1d([...rows], 'int32'))).arraySync() as number[][][][]);
        for (const img of d) {
          const flat = img.flat(2);
          const size = norm === 'l2' ? Math.hypot(...flat) : Math.max(...flat.map(Math.abs));
          assert.ok(size <= eps * (1 + 1e-5) + 1e-7, `${norm} iterate ${size} > ${eps}`);
        }
        for (const v of x.dataSync()) assert.ok(v >= 0 && v <= 1, `pixel ${v} outside [0, 1]`);
      },
    });
    assert.ok(seen >= 13, `iterates seen ${seen}`);
    const b = attack(model, x0, n, labels, { ...opts, rngs: rngsFor(n, 5) });
    assert.deepEqual(b.adv, a.adv, 'same seed, same bits');
    assert.deepEqual(b.fooled, a.fooled);
    for (let i = 0; i < n; i++) assert.ok(distance(a.adv, x0, i, norm) <= eps * (1 + 1e-5) + 1e-7);
    const one = attack(model, x0, n, labels, { ...opts, restarts: 1, rngs: rngsFor(n, 5) });
    for (let i = 0; i < n; i++) assert.ok(a.fooled[i]! >= one.fooled[i]!, `restart ${i} lost an adversarial example`);
  }
  x0t.dispose();
  model.dispose();
});

test('an image leaves the batch once fooled: same outcomes and same bits as running every image to the end, for fewer model rows', () => {
  const net = new TinyConvNet(10, C, 61);
  let rowsRun = 0;
  // Counts the images the model is run on (forward passes of the attack's probes).
  const counted = new FunctionClassifier(10, (x) => {
    rowsRun += x.shape[0];
    return net.logits(x, 'eval');
  });
  const n = 12;
  const x0 = new Rng(62).fillUniform(new Float32Array(n * D), 0, 1);
  const clean = tf.tidy(() => net.logits(tf.tensor4d(x0, [n, H, W, C]), 'eval').dataSync() as Float32Array);
  const labels = argmaxRows(clean, 10);
  // APGD-T's target: the runner-up class of the untouched image, as AutoAttack's first target.
  const runnerUp = labels.map((y, i) => {
    let best = y === 0 ? 1 : 0;
    for (let j = 0; j < 10; j++) if (j !== y && clean[i * 10 + j]! > clean[i * 10 + best]!) best = j;
    return best;
  });
  for (const [norm, eps] of [
    ['l2', 0.4],
    ['linf', 0.04],
  ] as const) {
    for (const loss of ['ce', 'dlr-targeted'] as const) {
      const opts = {
        norm,
        eps,
        iterations: 20,
        restarts: 2,
        loss,
        rngs: rngsFor(n, 7),
        ...(loss === 'ce' ? {} : { targets: runnerUp }),
      };
      rowsRun = 0;
      const full = attack(counted, x0, n, labels, { ...opts, rngs: rngsFor(n, 7), untilFooled: false });
      const fullRows = rowsRun;
      rowsRun = 0;
      const early = attack(counted, x0, n, labels, { ...opts, rngs: rngsFor(n, 7) });
      const earlyRows = rowsRun;
      const broken = full.fooled.reduce((a, v) => a + v, 0);
      assert.ok(broken > 0 && broken < n, `test setup (${norm}, ${loss}): some but not all images broken, got ${broken} of ${n}`);
      assert.deepEqual(early.fooled, full.fooled, `${norm} ${loss}: outcomes`);
      assert.deepEqual(early.adv, full.adv, `${norm} ${loss}: adversarial examples, bit for bit`);
      assert.ok(earlyRows < fullRows, `${norm} ${loss}: ${earlyRows} model rows, not fewer than ${fullRows}`);
      for (let i = 0; i < n; i++) if (!full.fooled[i]) assert.equal(early.loss[i], full.loss[i], `${norm} ${loss}: best loss of unbroken image ${i}`);
    }
  }
  net.dispose();
});

test('no tensor leaks; bad options are rejected', () => {
  const model = new TinyConvNet(10, C, 51);
  const x = tf.tensor4d(new Rng(52).fillUniform(new Float32Array(4 * D), 0, 1), [4, H, W, C]);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const t = tf.tensor1d([1, 2, 3, 4], 'int32');
  const before = tf.memory().numTensors;
  for (const loss of ['ce', 'dlr-targeted'] as const) {
    for (const untilFooled of [true, false]) {
      const r = apgdBatch(model, x, y, { norm: 'l2', eps: 0.3, iterations: 9, restarts: 2, loss, targets: t, rngs: rngsFor(4, 1), untilFooled });
      r.adversarial.dispose();
    }
  }
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.throws(() => apgdBatch(model, x, y, { norm: 'l2', eps: 0.3, iterations: 0, restarts: 1, loss: 'ce', rngs: rngsFor(4, 1) }), /iterations/);
  assert.throws(() => apgdBatch(model, x, y, { norm: 'l2', eps: 0.3, iterations: 3, restarts: 1, loss: 'dlr-targeted', rngs: rngsFor(4, 1) }), /targets/);
  const binary = linear(1, 2).model;
  assert.throws(
    () => apgdBatch(binary, x, y, { norm: 'l2', eps: 0.3, iterations: 3, restarts: 1, loss: 'dlr-targeted', targets: t, rngs: rngsFor(4, 1) }),
    /4 classes/,
  );
  binary.dispose();
  tf.dispose([x, y, t]);
  model.dispose();
});
