// The loop kernels on the native backend read tensors in place and write into recycled buffers: a
// recycled buffer holds a freed tensor's values, so the accumulating kernels must clear it, and an
// input read in place must come out unchanged. Sizes here are above the pool's threshold.
import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { allocF32 } from '../ml/backend/loop-io.ts';
import { composedWrapRows, wrapRows } from '../ml/backend/wrap-rows.ts';
import { bilinearSample, composedBilinearSample } from '../ml/models/sampler.ts';
import { assertClose, randomArray } from './backend-compare.ts';

const skip = nativeSkip();

/** Frees a tensor of `length` garbage values, so the pool holds a dirty buffer of that length. */
function dirtyPool(length: number): void {
  tf.fill([length], 7).add(tf.scalar(0)).dispose();
}

test('allocF32 hands out a cleared buffer when asked, even when it recycles one', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const length = 1 << 15;
  dirtyPool(length);
  const out = allocF32(tf.backend(), [length], true);
  assert.ok(out.values.every((v) => v === 0));
  tf.engine().makeTensorFromTensorInfo(out.info).dispose();
});

test('wrap-rows gradient and bilinear sampling are right on recycled buffers, inputs untouched', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const shape: [number, number, number, number] = [4, 32, 32, 8];
  const size = shape.reduce((a, b) => a * b, 1);
  const xv = randomArray(30, shape);
  const wv = randomArray(31, [4, 34, 32, 8]);
  const gradOf = (f: typeof wrapRows) =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, shape);
      const w = tf.tensor4d(wv, [4, 34, 32, 8]);
      return tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(w, f(t as tf.Tensor4D, 1))))(x)
        .dataSync<'float32'>()
        .slice();
    });
  const reference = gradOf(composedWrapRows);
  dirtyPool(size);
  assertClose(gradOf(wrapRows), reference, 1e-6, 'wrap-rows gradient on a recycled buffer');

  const xs = tf.tensor3d(randomArray(32, [4, 32, 32], -2, 33), [4, 32, 32]);
  const ys = tf.tensor3d(randomArray(33, [4, 32, 32], -2, 33), [4, 32, 32]);
  const image = tf.tensor4d(xv, shape);
  const want = tf.tidy(() => composedBilinearSample(image, xs, ys).dataSync<'float32'>().slice());
  dirtyPool(size);
  const got = tf.tidy(() => bilinearSample(image, xs, ys).dataSync<'float32'>().slice());
  assertClose(got, want, 1e-6, 'bilinear sample on a recycled buffer');
  assertClose(image.dataSync<'float32'>(), xv, 0, 'sampled image unchanged');
  tf.dispose([xs, ys, image]);
});
