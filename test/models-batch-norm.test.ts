// Batch norm with statistics shared across the p4m group axis (channels laid out c * g + s), in
// eval and train mode, against the definition written as plain loops; and its input gradient in
// train mode against central finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, BatchNormUpdates } from '../ml/models/batch-norm.ts';
import { ParamStore } from '../ml/models/params.ts';
import { assertClose, randomArray } from './backend-compare.ts';

await tf.setBackend('cpu');

const N = 2,
  H = 3,
  W = 2,
  C = 3,
  G = 8;

function layer(): { bn: BatchNorm; weight: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array } {
  const store = new ParamStore();
  const bn = new BatchNorm(store, 'bn', C, G);
  store.materialise({ seed: 0 });
  const weight = randomArray(1, [C], 0.5, 1.5);
  const bias = randomArray(2, [C]);
  const mean = randomArray(3, [C]);
  const variance = randomArray(4, [C], 0.2, 2);
  bn.weight.v.assign(tf.tensor1d(weight));
  bn.bias.v.assign(tf.tensor1d(bias));
  bn.runningMean.v.assign(tf.tensor1d(mean));
  bn.runningVar.v.assign(tf.tensor1d(variance));
  return { bn, weight, bias, mean, variance };
}

/** y[i] for feature c = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c], c = channel / G. */
function normalise(x: Float32Array, mean: ArrayLike<number>, variance: ArrayLike<number>, weight: Float32Array, bias: Float32Array): Float32Array {
  return x.map((v, i) => {
    const c = Math.floor((i % (C * G)) / G);
    return ((v - mean[c]!) / Math.sqrt(variance[c]! + 1e-5)) * weight[c]! + bias[c]!;
  });
}

/** Per-feature mean and biased variance over N, H, W and the G group channels. */
function stats(x: Float32Array): { mean: number[]; variance: number[] } {
  const sums = new Array<number>(C).fill(0);
  const squares = new Array<number>(C).fill(0);
  x.forEach((v, i) => {
    const c = Math.floor((i % (C * G)) / G);
    sums[c]! += v;
    squares[c]! += v * v;
  });
  const count = x.length / C;
  const mean = sums.map((s) => s / count);
  return { mean, variance: squares.map((s, c) => s / count - mean[c]! ** 2) };
}

const xv = randomArray(5, [N * H * W * C * G], -2, 3);

test('group-shared batch norm, eval mode: running statistics of each feature over its 8 channels', () => {
  const { bn, weight, bias, mean, variance } = layer();
  const y = tf.tidy(() => bn.apply(tf.tensor4d(xv, [N, H, W, C * G]), { mode: 'eval' }));
  assertClose(y.dataSync<'float32'>(), normalise(xv, mean, variance, weight, bias), 1e-5, 'eval y');
  y.dispose();
});

test('group-shared batch norm, train mode: batch statistics over N, H, W and the group axis, recorded for the update', () => {
  const { bn, weight, bias } = layer();
  const updates = new BatchNormUpdates();
  const y = tf.tidy(() => bn.apply(tf.tensor4d(xv, [N, H, W, C * G]), { mode: 'train', bnUpdates: updates }));
  const s = stats(xv);
  assertClose(y.dataSync<'float32'>(), normalise(xv, s.mean, s.variance, weight, bias), 1e-4, 'train y');
  y.dispose();
  const before = bn.runningMean.v.dataSync<'float32'>().slice();
  updates.apply();
  const after = bn.runningMean.v.dataSync<'float32'>();
  assertClose(
    after,
    before.map((m, c) => 0.9 * m + 0.1 * s.mean[c]!),
    1e-5,
    'running mean',
  );
});

test('group-shared batch norm, train mode: input gradient matches finite differences', () => {
  const { bn } = layer();
  const probe = randomArray(6, [xv.length]);
  const loss = (x: tf.Tensor) => tf.sum(tf.mul(tf.square(bn.apply(x as tf.Tensor4D, { mode: 'train' })), tf.tensor(probe, x.shape)));
  const grad = tf.tidy(() =>
    tf
      .grad(loss)(tf.tensor4d(xv, [N, H, W, C * G]))
      .dataSync(),
  );
  const h = 1e-2;
  const f = (v: Float32Array) => tf.tidy(() => loss(tf.tensor4d(v, [N, H, W, C * G])).dataSync()[0]!);
  for (const i of [0, 7, 8, 29, 100, xv.length - 1]) {
    const plus = Float64Array.from(xv);
    const minus = Float64Array.from(xv);
    plus[i]! += h;
    minus[i]! -= h;
    const fd = (f(Float32Array.from(plus)) - f(Float32Array.from(minus))) / (2 * h);
    assert.ok(Math.abs(fd - grad[i]!) <= 2e-2 * Math.max(1, Math.abs(fd)), `d loss / d x[${i}]: ${grad[i]} vs ${fd}`);
  }
});
