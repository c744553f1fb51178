import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildRobustDataset, drawSourceIndices } from '../ml/robust/build-dr.ts';
import { buildNonRobustDataset, nonRobustTargets } from '../ml/robust/build-dnr.ts';
import { invertRepresentation } from '../ml/robust/representation.ts';
import type { Classifier, FeatureOptions } from '../ml/models/classifier.ts';
import { Rng } from '../ml/random.ts';
import { ArrayImageSet, LinearClassifier, TinyMlp, sliceSet, templateData, trainClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

const H = 4,
  W = 4,
  C = 3,
  S = H * W * C;

function randomSet(seed: number, n: number, classes = 3): ArrayImageSet {
  const rng = new Rng(seed);
  return new ArrayImageSet(
    rng.fillUniform(new Float32Array(n * S), 0.1, 0.9),
    Uint8Array.from({ length: n }, () => rng.int(classes)),
    H,
    W,
    C,
    classes,
  );
}

test("D_R inversion with identity features walks straight from x' to x in steps of the step size", async () => {
  // g(x) = x (LinearClassifier.features flattens): the normalised gradient of ||z - x|| is the unit
  // vector toward x, so after k steps z = x' + k s (x - x')/||x - x'|| until within one step of x.
  const set = randomSet(1, 5);
  const model = new LinearClassifier(3, new Float32Array(S * 3), new Float32Array(3));
  const steps = 3,
    s = 0.1;
  const r = await buildRobustDataset(model, set, { steps, stepSize: s, seed: 2, batchSize: 2 });
  assert.deepEqual([...r.labels], [...set.labels]);
  for (let i = 0; i < set.count; i++) {
    const src = r.sourceIndices[i]!;
    assert.notEqual(src, i, 'the start image is another image');
    const x = set.images.subarray(i * S, (i + 1) * S),
      xs = set.images.subarray(src * S, (src + 1) * S);
    const d0 = Math.hypot(...x.map((v, j) => v - xs[j]!));
    const xn = Math.hypot(...x);
    assert.ok(d0 > steps * s + 0.1, 'the walk does not arrive within the test');
    for (let j = 0; j < S; j++) {
      const want = xs[j]! + (steps * s * (x[j]! - xs[j]!)) / d0;
      assert.ok(Math.abs(r.images[i * S + j]! - want) < 1e-5, `image ${i} value ${j}`);
    }
    assert.ok(Math.abs(r.initialDistances[i]! - d0 / xn) < 1e-5);
    assert.ok(Math.abs(r.distances[i]! - (d0 - steps * s) / xn) < 1e-5, `distance ${r.distances[i]} vs ${(d0 - steps * s) / xn}`);
  }
  // Long enough to arrive: the walk ends within one step of x.
  const far = await buildRobustDataset(model, set, { steps: 200, stepSize: s, seed: 2 });
  for (let i = 0; i < set.count; i++) {
    const xn = Math.hypot(...set.images.subarray(i * S, (i + 1) * S));
    assert.ok(far.distances[i]! <= (s * 1.0001) / xn, `image ${i} ends at distance ${far.distances[i]}`);
  }
  model.dispose();
});

test('D_R inversion with a shrinking step: steps fall linearly to finalStepSize, and a short run lands closer', async () => {
  // Identity features again: z walks straight toward x, so its distance from x' is the sum of the steps.
  const set = randomSet(1, 4);
  const model = new LinearClassifier(3, new Float32Array(S * 3), new Float32Array(3));
  const r = await buildRobustDataset(model, set, { steps: 3, stepSize: 0.3, finalStepSize: 0.1, seed: 2, batchSize: 4 });
  for (let i = 0; i < set.count; i++) {
    const src = r.sourceIndices[i]!;
    const x = set.images.subarray(i * S, (i + 1) * S),
      xs = set.images.subarray(src * S, (src + 1) * S);
    const d0 = Math.hypot(...x.map((v, j) => v - xs[j]!));
    assert.ok(d0 > 0.7, 'the walk does not arrive within the test');
    const travelled = Math.hypot(...xs.map((v, j) => r.images[i * S + j]! - v));
    assert.ok(Math.abs(travelled - (0.3 + 0.2 + 0.1)) < 1e-5, `image ${i} travelled ${travelled}, want 0.6`);
  }
  // 40 steps from far away: constant steps of 0.5 end up to one step (0.5) from x; shrinking ones
  // (0.5 -> 0.01) end within about their last step.
  const far = randomSet(3, 4);
  const constant = await buildRobustDataset(model, far, { steps: 40, stepSize: 0.5, seed: 4 });
  const shrinking = await buildRobustDataset(model, far, { steps: 40, stepSize: 0.5, finalStepSize: 0.01, seed: 4 });
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(shrinking.distances) < 0.25 * mean(constant.distances), `shrinking ${mean(shrinking.distances)} vs constant ${mean(constant.distances)}`);
  await assert.rejects(buildRobustDataset(model, far, { steps: 2, stepSize: 0.5, finalStepSize: -1, seed: 4 }), /finalStepSize/);
  model.dispose();
});

test('D_R: start images are seeded, exclude the example itself, and do not depend on batching', async () => {
  const bases = Int32Array.from({ length: 200 }, (_, i) => i);
  const a = drawSourceIndices(bases, 200, 5);
  assert.ok(a.every((j, i) => j !== i && j >= 0 && j < 200));
  assert.deepEqual(a, drawSourceIndices(bases, 200, 5));
  assert.ok(new Set(a).size > 100, 'spread over the set');
  const set = randomSet(6, 7);
  const model = new TinyMlp(3, S, 7);
  const one = await buildRobustDataset(model, set, { steps: 4, stepSize: 0.05, seed: 8, batchSize: 1 });
  const all = await buildRobustDataset(model, set, { steps: 4, stepSize: 0.05, seed: 8, batchSize: 7 });
  assert.deepEqual(one.sourceIndices, all.sourceIndices);
  for (let j = 0; j < one.images.length; j++) assert.ok(Math.abs(one.images[j]! - all.images[j]!) < 1e-5);
  const sub = await buildRobustDataset(model, set, { steps: 1, stepSize: 0.05, seed: 8, indices: [4, 2] });
  assert.deepEqual([...sub.baseIndices], [4, 2]);
  assert.deepEqual([...sub.labels], [set.labels[4], set.labels[2]]);
  model.dispose();
});

/** Records the options every features() call receives. */
class Spy implements Classifier {
  readonly seen: (FeatureOptions | undefined)[] = [];
  constructor(private readonly inner: Classifier) {}
  get config() {
    return this.inner.config;
  }
  get numClasses() {
    return this.inner.numClasses;
  }
  get trainableVariables() {
    return this.inner.trainableVariables;
  }
  logits(x: tf.Tensor4D, mode: 'train' | 'eval') {
    return this.inner.logits(x, mode);
  }
  features(x: tf.Tensor4D, options?: FeatureOptions) {
    this.seen.push(options);
    return this.inner.features(x, options);
  }
  dispose() {
    this.inner.dispose();
  }
}

test('D_R inversion of a trained model: uses the pass-through ReLU, lowers the distance, stays in [0, 1], no leaks', async () => {
  const all = templateData(11, 160, { size: 4, channels: 3, classes: 3 });
  const model = new Spy(new TinyMlp(3, S, 12));
  trainClassifier(model, sliceSet(all, 0, 128), { steps: 60, batchSize: 32, lr: 0.01, seed: 13 });
  const x = tf.tensor4d(all.images.slice(128 * S, 136 * S), [8, H, W, C]);
  const start = tf.tensor4d(all.images.slice(136 * S, 144 * S), [8, H, W, C]);
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const r = invertRepresentation(model, x, start, {
    steps: 60,
    stepSize: 0.05,
    onIterate: (z) => {
      counts.push(tf.memory().numTensors);
      const v = z.dataSync();
      for (const p of v) assert.ok(p >= 0 && p <= 1);
    },
  });
  const d0 = Array.from(r.initialDistance.dataSync()),
    d1 = Array.from(r.distance.dataSync());
  tf.dispose([r.z, r.initialDistance, r.distance]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(new Set(counts.slice(1)).size, 1, `live tensors per step: ${counts.join(',')}`);
  assert.ok(model.seen.length > 0 && model.seen.every((o) => o?.reluPassThrough === true));
  const m0 = d0.reduce((a, b) => a + b) / 8,
    m1 = d1.reduce((a, b) => a + b) / 8;
  assert.ok(m1 < 0.3 * m0, `representation distance should fall: ${m0} -> ${m1}`);
  tf.dispose([x, start]);
  model.dispose();
});

test('D_NR: targets (y+1) mod K or seeded uniform; targeted PGD within eps mostly reaches them', async () => {
  const y = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
  assert.deepEqual([...nonRobustTargets(y, 10, 'det', 0).subarray(0, 12)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
  const rand = nonRobustTargets(y, 10, 'rand', 3);
  assert.deepEqual(rand, nonRobustTargets(y, 10, 'rand', 3));
  const hist = new Array(10).fill(0);
  rand.forEach((t) => hist[t]++);
  assert.ok(
    hist.every((h) => h > 60 && h < 140),
    `uniform-ish targets ${hist}`,
  );
  assert.throws(() => nonRobustTargets(y, 10, 'odd' as 'det', 0), /D_NR variant 'odd'/);

  const all = templateData(21, 160, { size: 4, channels: 3, classes: 3, amp: 0.2, noise: 0.05 });
  const model = new TinyMlp(3, S, 22);
  trainClassifier(model, sliceSet(all, 0, 128), { steps: 80, batchSize: 32, lr: 0.01, seed: 23 });
  const base = sliceSet(all, 128, 160);
  for (const variant of ['det', 'rand'] as const) {
    const eps = 1;
    const r = await buildNonRobustDataset(model, base, { variant, eps, step: 0.1, iterations: 30, seed: 24, batchSize: 12 });
    assert.deepEqual(r.labels, nonRobustTargets(base.labels, 3, variant, 24));
    assert.deepEqual(r.originalLabels, base.labels);
    for (let i = 0; i < r.count; i++) {
      let d = 0;
      for (let j = 0; j < S; j++) d += (r.images[i * S + j]! - base.images[i * S + j]!) ** 2;
      assert.ok(Math.sqrt(d) <= eps * (1 + 1e-5), `perturbation ${Math.sqrt(d)} within eps`);
      assert.ok(Math.abs(Math.sqrt(d) - r.perturbationL2[i]!) < 1e-4);
    }
    // Independent check of "target reached": classify the stored images afresh.
    const pred = tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(r.images, [r.count, H, W, C]), 'eval'), 1).dataSync());
    assert.deepEqual(
      [...r.targetReached],
      [...pred].map((p, i) => (p === r.labels[i] ? 1 : 0)),
    );
    assert.ok(r.metrics.targetSuccessRate > 0.8, `${variant}: targets reached ${r.metrics.targetSuccessRate}`);
  }
  const none = await buildNonRobustDataset(model, base, { variant: 'det', eps: 0, step: 0.1, iterations: 3, seed: 0 });
  assert.deepEqual(none.images, base.images);
  model.dispose();
});
