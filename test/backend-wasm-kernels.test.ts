import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { CONV_CASES, assertSameOnBackends, convWithGrads, randomArray, runOn, assertClose } from './backend-compare.ts';

const TOL = 2e-4; // XNNPACK sums in a different order than the cpu backend

for (const [i, c] of CONV_CASES.entries()) {
  test(`wasm conv2d, input and filter gradients (composed kernels) match cpu: ${c.name}`, async () => {
    await initBackend('wasm', { log: () => {} });
    await assertSameOnBackends('wasm', 'cpu', convWithGrads(c, 100 + 10 * i), TOL, c.name);
  });
}

test('wasm gather gradient (UnsortedSegmentSum) matches cpu, repeated and out-of-range-free indices', async () => {
  await initBackend('wasm', { log: () => {} });
  const pv = randomArray(1, [6, 4]);
  const idx = [0, 3, 3, 5, 1, 3, 0];
  for (const axis of [0, 1]) {
    const ids = axis === 0 ? idx : idx.map((v) => v % 4);
    await assertSameOnBackends(
      'wasm',
      'cpu',
      () => {
        const p = tf.tensor2d(pv, [6, 4]);
        const indices = tf.tensor1d(ids, 'int32');
        const r = tf.tensor(randomArray(2, axis === 0 ? [7, 4] : [6, 7]), axis === 0 ? [7, 4] : [6, 7]);
        const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices, axis), r));
        return [tf.gather(p, indices, axis), tf.grad(f)(p)];
      },
      1e-6,
      `gather axis ${axis}`,
    );
  }
});

test('wasm unsortedSegmentSum drops ids outside [0, numSegments)', async () => {
  await initBackend('wasm', { log: () => {} });
  const [got] = await runOn('wasm', () => [tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), tf.tensor1d([1, 7, 1], 'int32'), 2)]);
  assert.deepEqual(Array.from(got!), [0, 0, 6, 8]);
});

/** y = (x - mean) * rsqrt(var + eps) * scale + offset from elementary ops: tfjs differentiates it itself. */
function batchNormByHand(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor, eps: number): tf.Tensor {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), scale), offset);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`batchNorm gradient (no Tile) equals autograd of the elementary formula on ${backend}`, async () => {
    await initBackend(backend, { log: () => {} });
    const shape = [3, 4, 5, 6];
    const vals = [randomArray(3, shape), randomArray(4, [6]), randomArray(5, [6], 0.5, 2), randomArray(6, [6]), randomArray(7, [6], 0.5, 2)];
    const r = randomArray(8, shape);
    const run = (f: typeof batchNormByHand) => () => {
      const [x, m, v, o, s] = vals.map((a, i) => tf.tensor(a, i === 0 ? shape : [6]));
      const rr = tf.tensor(r, shape);
      const loss = (...ts: tf.Tensor[]) => tf.sum(tf.mul(f(ts[0]!, ts[1]!, ts[2]!, ts[3]!, ts[4]!, 1e-3), rr));
      return tf.grads(loss)([x!, m!, v!, o!, s!]);
    };
    const fused = await runOn(
      backend,
      run((x, m, v, o, s, eps) => tf.batchNorm(x as tf.Tensor4D, m, v, o, s, eps)),
    );
    const byHand = await runOn(backend, run(batchNormByHand));
    fused.forEach((g, i) => assertClose(g, byHand[i]!, 1e-4, `batchNorm grad input ${i}`));
  });
}

test('a batch-norm training step on wasm runs no Tile kernel', async () => {
  await initBackend('wasm', { log: () => {} });
  const x = tf.tensor4d(randomArray(9, [2, 4, 4, 3]), [2, 4, 4, 3]);
  const scale = tf.ones([3]);
  const offset = tf.zeros([3]);
  const profile = await tf.profile(() => {
    const g = tf.grads((xx: tf.Tensor, s: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      return tf.sum(tf.square(tf.batchNorm(xx as tf.Tensor4D, mean, variance, offset, s, 1e-5)));
    })([x, scale]);
    return g;
  });
  tf.dispose([x, scale, offset, profile.result as tf.Tensor[]]);
  const names = profile.kernelNames;
  assert.ok(names.includes('FusedBatchNorm'), `expected FusedBatchNorm among ${names.join(', ')}`);
  assert.ok(!names.includes('Tile'), `Tile ran: ${names.join(', ')}`);
});
