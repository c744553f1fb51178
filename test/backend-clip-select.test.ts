// Two loop kernels that only select values, against the tfjs formulas they replace, bit for bit:
// clipByValue's gradient (dy where lo <= x <= hi, else 0; bounds that float32 cannot hold exactly,
// values on the bounds, NaN, -0) and PGD's per-example choice of its best iterate.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CLIP_GRAD_KERNEL, registerClipGrad } from '../ml/backend/clip-grad.ts';
import { registerSelectRows, selectRows, SELECT_ROWS_KERNEL } from '../ml/backend/select-rows.ts';
import { copyData, randomArray, sameBits, testLoopKernelOnBackends } from './backend-compare.ts';

testLoopKernelOnBackends('clipByValue gradient equals tfjs where(lo <= x <= hi, dy, 0) bit for bit', registerClipGrad, async (backend) => {
  assert.ok(await tf.setBackend(backend));
  assert.ok(tf.getKernel(CLIP_GRAD_KERNEL, backend) !== undefined, `no ${CLIP_GRAD_KERNEL} on ${backend}`);
  const before = tf.memory().numTensors;
  const shape = [4, 5, 5, 3];
  for (const [lo, hi] of [
    [0, 1],
    [0.1, 0.7],
    [-0.3, 0.3],
  ] as const) {
    const xv = randomArray(5, shape, -0.5, 1.5);
    // On the bounds as float32 holds them, just beside them, and NaN.
    xv[0] = Math.fround(lo);
    xv[1] = Math.fround(hi);
    xv[2] = NaN;
    xv[3] = lo;
    xv[4] = hi;
    xv[5] = Math.fround(hi) + 1e-7;
    const dyv = randomArray(6, shape).map((v, i) => (i % 9 === 0 ? -0 : v));
    const [got, want] = tf.tidy(() => {
      const x = tf.tensor(xv, shape);
      const dy = tf.tensor(dyv, shape);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(t, lo, hi), dy)))(x);
      const reference = tf.where(tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi)), dy, tf.zerosLike(dy));
      return [copyData(g), copyData(reference)];
    });
    sameBits(got, want, `${backend} clip [${lo}, ${hi}] gradient`);
    assert.ok(got.some((v) => v === 0) && got.some((v) => v !== 0), 'some values clipped, some not');
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

testLoopKernelOnBackends('selectRows equals where(broadcast mask) bit for bit', registerSelectRows, async (backend) => {
  assert.ok(await tf.setBackend(backend));
  assert.ok(tf.getKernel(SELECT_ROWS_KERNEL, backend) !== undefined, `no ${SELECT_ROWS_KERNEL} on ${backend}`);
  const before = tf.memory().numTensors;
  for (const shape of [
    [5, 4, 4, 3],
    [3, 2],
    [1, 7],
  ]) {
    const n = shape[0]!;
    const [got, want] = tf.tidy(() => {
      const a = tf.tensor(randomArray(7, shape), shape);
      const b = tf.tensor(randomArray(8, shape), shape);
      const mask = tf.greater(tf.tensor1d(randomArray(9, [n])), 0) as tf.Tensor1D;
      const reference = tf.where(tf.broadcastTo(tf.reshape(mask, [n, ...shape.slice(1).map(() => 1)]), shape), a, b);
      return [copyData(selectRows(mask, a, b)), copyData(reference)];
    });
    sameBits(got, want, `${backend} selectRows [${shape}]`);
  }
  assert.throws(() => tf.tidy(() => selectRows(tf.tensor1d([1, 0], 'bool'), tf.zeros([3, 2]), tf.zeros([3, 2]))), /do not fit/);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
