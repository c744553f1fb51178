// batchNormTrainRelu's fused native kernels (ml/backend/batch-norm-relu.ts, native/src/bn_relu.cc)
// against batchNormTrain followed by tf.relu (the route they replace) bit for bit: output, batch
// statistics, and the gradients of x, scale and offset; on serial and threaded shapes (2 threads),
// channel counts off the vector width. Plus the cpu backend's tf.moments + tf.batchNorm + relu
// (independent code) within float tolerance, and a check that the fused kernels really ran.
// And addRelu (the residual join) against tf.relu(tf.add(a, b)).
import { nativeSkip } from './helpers/services.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { BN_TRAIN_RELU_GRAD_KERNEL, BN_TRAIN_RELU_KERNEL, batchNormTrainRelu } from '../ml/backend/batch-norm-relu.ts';
import { ADD_RELU_KERNEL, addRelu } from '../ml/backend/add-relu.ts';
import { BatchNorm, BatchNormUpdates } from '../ml/models/batch-norm.ts';
import { ParamStore } from '../ml/models/params.ts';
import { assertClose, randomArray, sameBits } from './backend-compare.ts';

const skip = nativeSkip();

const SHAPES: ReadonlyArray<readonly [number, number, number, number]> = [
  [2, 3, 3, 1],
  [4, 5, 5, 3],
  [8, 8, 8, 17],
  [16, 16, 16, 16],
  [64, 16, 16, 4],
  [32, 8, 8, 33],
  [16, 4, 4, 64],
];

/** Values and gradients of sum(relu(bn(x)) * r) on the current backend. */
function run(shape: readonly [number, number, number, number], seed: number, route: 'auto' | 'composed'): Float32Array[] {
  const c = shape[3];
  return tf.tidy(() => {
    const x = tf.tensor4d(randomArray(seed, shape, -2, 3), [...shape]);
    const scale = tf.tensor1d(randomArray(seed + 1, [c], 0.5, 1.5));
    const offset = tf.tensor1d(randomArray(seed + 2, [c], -0.5, 0.5));
    const r = tf.tensor4d(randomArray(seed + 3, shape), [...shape]);
    const out = batchNormTrainRelu(x, scale, offset, 1e-5, route);
    const grads = tf.grads((xx: tf.Tensor, ss: tf.Tensor, oo: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTrainRelu(xx, ss as tf.Tensor1D, oo as tf.Tensor1D, 1e-5, route).y, r)),
    )([x, scale, offset]);
    return [out.y, out.mean, out.variance, ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

const LABELS = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset'];

test('batchNormTrainRelu: fused native kernels equal batchNormTrain + relu bit for bit', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  const before = tf.memory().numTensors;
  for (const [i, shape] of SHAPES.entries()) {
    const fused = run(shape, 10 * i, 'auto');
    const composed = run(shape, 10 * i, 'composed');
    LABELS.forEach((what, k) => sameBits(fused[k]!, composed[k]!, `[${shape}] ${what}`));
    assert.ok(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v > 0), 'the ReLU must cut some values and pass others');
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

test('batchNormTrainRelu: native agrees with tf.moments + tf.batchNorm + relu on the cpu backend', { skip }, async () => {
  for (const [i, shape] of SHAPES.slice(0, 4).entries()) {
    await initBackend('native', { log: () => {} });
    const fused = run(shape, 10 * i, 'auto');
    assert.ok(await tf.setBackend('cpu'));
    const cpu = run(shape, 10 * i, 'composed');
    LABELS.forEach((what, k) => assertClose(fused[k]!, cpu[k]!, 2e-4, `[${shape}] ${what} vs cpu`));
  }
});

test('batchNormTrainRelu: BatchNorm.applyRelu runs the fused kernels in training and records the statistics', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const store = new ParamStore();
  const bn = new BatchNorm(store, 'bn', 6);
  store.materialise({ seed: 0 });
  const x = tf.tensor4d(randomArray(1, [4, 3, 3, 6]), [4, 3, 3, 6]);
  const updates = new BatchNormUpdates();
  const profile = await tf.profile(() => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(bn.applyRelu(t as tf.Tensor4D, { mode: 'train', bnUpdates: updates })))(x);
    g.dispose();
  });
  const ran = new Set(profile.kernels.map((k) => k.name));
  assert.ok(ran.has(BN_TRAIN_RELU_KERNEL) && ran.has(BN_TRAIN_RELU_GRAD_KERNEL), `kernels run: ${[...ran].join(', ')}`);
  assert.equal(updates.size, 1);
  updates.discard();
  store.dispose();
  x.dispose();
});

test('addRelu: the fused native kernel equals tf.relu(tf.add) bit for bit, values and both gradients', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  const before = tf.memory().numTensors;
  for (const shape of [
    [3, 2, 2, 5],
    [64, 16, 16, 24],
  ] as const) {
    const go = (route: 'auto' | 'composed') =>
      tf.tidy(() => {
        const a = tf.tensor4d(randomArray(1, shape), [...shape]);
        const b = tf.tensor4d(randomArray(2, shape), [...shape]);
        const r = tf.tensor4d(randomArray(3, shape), [...shape]);
        const grads = tf.grads((aa: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(addRelu(aa, bb, route), r)))([a, b]);
        return [addRelu(a, b, route), ...grads].map((t) => Float32Array.from(t.dataSync()));
      });
    const fused = go('auto');
    const composed = go('composed');
    ['y', 'da', 'db'].forEach((what, k) => sameBits(fused[k]!, composed[k]!, `[${shape}] addRelu ${what}`));
    assert.ok(fused[1]!.some((v) => v === 0) && fused[1]!.some((v) => v !== 0), 'the mask must cut some gradients and pass others');
  }
  const profile = await tf.profile(() => {
    const [a, b] = [tf.ones([2, 3]), tf.ones([2, 3])];
    tf.dispose([addRelu(a, b), a, b]);
  });
  assert.ok(
    profile.kernels.some((k) => k.name === ADD_RELU_KERNEL),
    'RfAddRelu did not run',
  );
  // A broadcasting add is left to tfjs' ops (same values).
  const [a, v] = [tf.tensor2d([-1, 2, 3, -4], [2, 2]), tf.tensor1d([1.5, -2.5])];
  const joined = addRelu(a, v as unknown as tf.Tensor2D);
  assert.deepEqual(Array.from(joined.dataSync()), [0.5, 0, 4.5, 0]);
  tf.dispose([a, v, joined]);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
