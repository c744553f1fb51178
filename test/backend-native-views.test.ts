// The native backend recycles the arrays of freed tensors. A cpu kernel whose output is a view into
// its input's array (a contiguous Slice returns a subarray) must keep that array out of recycling:
// before the fix, the slice of a freed tensor changed when a later op reused the freed array.
import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';

const skip = nativeSkip();

test('a contiguous slice keeps its values after its parent is freed and the pool reuses arrays', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const n = 1 << 16; // above the pool's minimum length
  const before = tf.memory().numTensors;
  // Sliced inside a tidy that frees the parent: the usual way a slice outlives its source.
  const head = tf.tidy(() => tf.add(tf.zeros([n]), tf.scalar(1)).slice([0], [100]));
  const tail = tf.tidy(() => tf.add(tf.zeros([4, n / 4]), tf.scalar(2)).slice([3, 0], [1, n / 4]));
  const others = tf.tidy(() => [tf.add(tf.zeros([n]), tf.scalar(7)), tf.add(tf.zeros([4, n / 4]), tf.scalar(9))]);
  assert.ok(
    head.dataSync().every((v) => v === 1),
    `head holds ${head.dataSync()[0]}, not 1`,
  );
  assert.ok(
    tail.dataSync().every((v) => v === 2),
    `tail holds ${tail.dataSync()[0]}, not 2`,
  );
  assert.ok(others[0]!.dataSync().every((v) => v === 7));
  tf.dispose([head, tail, ...others]);
  assert.equal(tf.memory().numTensors, before);
});
