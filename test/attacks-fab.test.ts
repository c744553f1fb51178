import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fabBatch, projectOntoHyperplaneInBox } from '../ml/attacks/fab.ts';
import { Rng } from '../ml/random.ts';
import { LinearClassifier, TinyConvNet, argmaxRows, minimalFlip, useCpu } from './attacks-helpers.ts';

before(useCpu);

const H = 4,
  W = 4,
  C = 3,
  D = H * W * C;

/**
 * Dykstra's alternating projections onto the hyperplane w . z = b and the box [0, 1]^D: converges
 * to the Euclidean projection of p onto their intersection (an independent computation of the L2
 * projection).
 */
function dykstra(p: Float64Array, w: Float64Array, b: number, rounds = 20000): Float64Array {
  const n = p.length;
  let x = Float64Array.from(p);
  const pInc = new Float64Array(n);
  const qInc = new Float64Array(n);
  let ww = 0;
  for (const v of w) ww += v * v;
  for (let r = 0; r < rounds; r++) {
    const y = new Float64Array(n);
    let dot = 0;
    for (let i = 0; i < n; i++) dot += w[i]! * (x[i]! + pInc[i]!);
    for (let i = 0; i < n; i++) y[i] = x[i]! + pInc[i]! - ((dot - b) / ww) * w[i]!;
    for (let i = 0; i < n; i++) pInc[i] = x[i]! + pInc[i]! - y[i]!;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = Math.min(Math.max(y[i]! + qInc[i]!, 0), 1);
    for (let i = 0; i < n; i++) qInc[i] = y[i]! + qInc[i]! - z[i]!;
    x = z;
  }
  return x;
}

/** The smallest L-inf radius delta with some d, |d_i| <= delta, p + d in the box and w . d = c, by bisection on delta. */
function minLinf(p: Float64Array, w: Float64Array, c: number): number {
  // The largest (smallest if c < 0) w . d reachable within radius delta, coordinate by coordinate.
  const reach = (delta: number) => {
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const up = Math.min(delta, 1 - p[i]!);
      const down = Math.min(delta, p[i]!);
      v += c > 0 ? (w[i]! > 0 ? w[i]! * up : -w[i]! * down) : w[i]! > 0 ? -w[i]! * down : w[i]! * up;
    }
    return v;
  };
  let [lo, hi] = [0, 1];
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (Math.abs(reach(mid)) >= Math.abs(c)) hi = mid;
    else lo = mid;
  }
  return hi;
}

test('projection onto a hyperplane inside the box: L2 agrees with Dykstra, L-inf with a bisection on the radius', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 40; trial++) {
    const n = 3 + rng.int(30);
    // Pixels near the box's faces, so that the box binds in many trials.
    const p = Float64Array.from({ length: n }, () => (rng.float() < 0.3 ? rng.uniform(0, 0.05) : rng.uniform(0, 1)));
    const w = Float64Array.from({ length: n }, () => (rng.float() < 0.1 ? 0 : rng.normal()));
    // A target inside what the box allows: the value at a random point of the box.
    const z = Float64Array.from({ length: n }, () => rng.float());
    let b = 0;
    for (let i = 0; i < n; i++) b += w[i]! * z[i]!;
    let c = b;
    for (let i = 0; i < n; i++) c -= w[i]! * p[i]!;
    for (const norm of ['l2', 'linf'] as const) {
      const d = new Float64Array(n);
      projectOntoHyperplaneInBox(norm, p, w, b, d);
      let dot = 0;
      for (let i = 0; i < n; i++) {
        dot += w[i]! * (p[i]! + d[i]!);
        assert.ok(p[i]! + d[i]! >= -1e-12 && p[i]! + d[i]! <= 1 + 1e-12, 'inside the box');
      }
      assert.ok(Math.abs(dot - b) <= 1e-9 * (1 + Math.abs(b)), `${norm} trial ${trial}: on the hyperplane (${dot} vs ${b})`);
      if (norm === 'l2') {
        const ref = dykstra(p, w, b);
        let err = 0;
        for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(p[i]! + d[i]! - ref[i]!));
        assert.ok(err < 1e-6, `L2 trial ${trial}: ${err} from Dykstra's projection`);
      } else {
        let size = 0;
        for (const v of d) size = Math.max(size, Math.abs(v));
        const ref = minLinf(p, w, c);
        assert.ok(Math.abs(size - ref) < 1e-9, `L-inf trial ${trial}: radius ${size}, bisection ${ref}`);
      }
    }
  }
});

/** A K-class linear model with random weights (row-major [D, K]). */
function linear(seed: number, k: number): { model: LinearClassifier; w: Float32Array; b: Float32Array } {
  const rng = new Rng(seed);
  const w = rng.fillNormal(new Float32Array(D * k));
  const b = rng.fillNormal(new Float32Array(k), 0, 0.3);
  return { model: new LinearClassifier(k, w, b), w, b };
}

for (const norm of ['l2', 'linf'] as const) {
  for (const k of [2, 10]) {
    test(`FAB-T (${norm}) on a ${k}-class linear model toward the nearest class: finds the closed-form minimal perturbation within 1 %, never beyond eps`, () => {
      const { model, w, b } = linear((norm === 'l2' ? 71 : 72) + k, k);
      const n = 8;
      const x0 = new Rng(73).fillUniform(new Float32Array(n * D), 0.45, 0.55);
      const x = tf.tensor4d(x0, [n, H, W, C]);
      const labels = argmaxRows(
        tf.tidy(() => model.logits(x, 'eval').dataSync() as Float32Array),
        k,
      );
      const flips = labels.map((y, i) => minimalFlip(w, b, k, x0.subarray(i * D, (i + 1) * D), y, norm));
      const y = tf.tensor1d(labels, 'int32');
      const t = tf.tensor1d(
        flips.map((f) => f.cls),
        'int32',
      );
      for (const factor of [1.01, 0.99]) {
        for (let i = 0; i < n; i++) {
          const eps = flips[i]!.dist * factor;
          const one = (v: tf.Tensor) => tf.slice(v, [i], [1]);
          const xi = tf.slice(x, [i, 0, 0, 0], [1, H, W, C]);
          const [yi, ti] = [one(y) as tf.Tensor1D, one(t) as tf.Tensor1D];
          const r = fabBatch(model, xi, yi, { norm, eps, iterations: 100, targets: ti });
          const adv = r.adversarial.dataSync() as Float32Array;
          const pred = argmaxRows(
            tf.tidy(() => model.logits(r.adversarial, 'eval').dataSync() as Float32Array),
            k,
          )[0];
          let dist = 0;
          for (let p = 0; p < D; p++) {
            const dv = Math.abs(adv[p]! - x0[i * D + p]!);
            dist = norm === 'l2' ? dist + dv * dv : Math.max(dist, dv);
          }
          if (norm === 'l2') dist = Math.sqrt(dist);
          assert.ok(dist <= eps * (1 + 1e-5) + 1e-7, `never beyond eps: ${dist} > ${eps}`);
          assert.equal(r.fooled[0], factor > 1 ? 1 : 0, `image ${i}, eps = ${factor} x minimal ${flips[i]!.dist}: fooled ${r.fooled[0]}`);
          assert.equal(pred !== labels[i], factor > 1, `image ${i}: the returned point's class agrees with 'fooled'`);
          if (factor > 1) assert.ok(r.distance[0]! >= flips[i]!.dist * (1 - 1e-4), `image ${i}: ${r.distance[0]} below the minimum ${flips[i]!.dist}`);
          tf.dispose([xi, yi, ti, r.adversarial]);
        }
      }
      tf.dispose([x, y, t]);
      model.dispose();
    });
  }
}

test('FAB-T: same inputs, same bits; images already wrong are broken at distance 0; no tensor leaks; bad options rejected', () => {
  const net = new TinyConvNet(10, C, 81);
  const n = 6;
  const x = tf.tensor4d(new Rng(82).fillUniform(new Float32Array(n * D), 0, 1), [n, H, W, C]);
  const pred = tf.tidy(() => tf.argMax(net.logits(x, 'eval'), 1).dataSync() as Int32Array);
  const labels = Array.from(pred, (p, i) => (i === 0 ? (p + 1) % 10 : p));
  const y = tf.tensor1d(labels, 'int32');
  const t = tf.tensor1d(
    labels.map((l) => (l + 3) % 10),
    'int32',
  );
  const before = tf.memory().numTensors;
  const a = fabBatch(net, x, y, { norm: 'l2', eps: 0.3, iterations: 15, targets: t });
  const b = fabBatch(net, x, y, { norm: 'l2', eps: 0.3, iterations: 15, targets: t });
  assert.deepEqual(a.adversarial.dataSync(), b.adversarial.dataSync());
  assert.deepEqual(a.fooled, b.fooled);
  assert.equal(a.fooled[0], 1);
  assert.equal(a.distance[0], 0);
  tf.dispose([a.adversarial, b.adversarial]);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.throws(() => fabBatch(net, x, y, { norm: 'l2', eps: 0.3, iterations: 0, targets: t }), /iterations/);
  assert.throws(() => fabBatch(net, x, y, { norm: 'l2', eps: 0.3, iterations: 3, targets: y }), /target is its own class/);
  tf.dispose([x, y, t]);
  net.dispose();
});
