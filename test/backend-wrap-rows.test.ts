// The PTN's circular row padding: the loop kernels against slices + concat (values and gradient),
// and the padding itself against an index formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { composedWrapRows, registerWrapRows, wrapRows, WRAP_ROWS_KERNEL } from '../ml/backend/wrap-rows.ts';
import { assertClose, randomArray, testLoopKernelOnBackends } from './backend-compare.ts';

const SHAPE = [2, 5, 3, 4] as const;
const x = randomArray(1, SHAPE);

function valueAndGrad(f: (x: tf.Tensor4D, pad: number) => tf.Tensor4D, pad: number): Float32Array[] {
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => {
    const input = tf.tensor4d(x, [...SHAPE]);
    const y = f(input, pad);
    const w = tf.tensor4d(randomArray(2, y.shape), y.shape);
    return [y, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, f(t as tf.Tensor4D, pad))))(input)];
  });
  const copies = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return copies;
}

async function compareOn(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend));
  assert.ok(tf.getKernel(WRAP_ROWS_KERNEL, backend), `no ${WRAP_ROWS_KERNEL} on ${backend}`);
  for (const pad of [1, 2, 5]) {
    const loop = valueAndGrad(wrapRows, pad);
    const composed = valueAndGrad(composedWrapRows, pad);
    assertClose(loop[0]!, composed[0]!, 0, `${backend} pad ${pad} values`);
    assertClose(loop[1]!, composed[1]!, 1e-6, `${backend} pad ${pad} gradient`);
  }
}

test('wrapped rows follow row (r - pad) mod H', () => {
  registerWrapRows();
  const [n, h, w, c] = SHAPE;
  const pad = 2;
  const y = tf.tidy(() => wrapRows(tf.tensor4d(x, [...SHAPE]), pad).arraySync());
  const at = (b: number, i: number, j: number, k: number) => x[((b * h + i) * w + j) * c + k]!;
  for (let b = 0; b < n; b++)
    for (let r = 0; r < h + 2 * pad; r++)
      for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) assert.equal(y[b]![r]![j]![k], at(b, (((r - pad) % h) + h) % h, j, k));
});

testLoopKernelOnBackends('loop kernels equal slices + concat (values and gradient)', registerWrapRows, compareOn);

test('a padding wider than the rows is refused with its numbers', () => {
  assert.throws(() => wrapRows(tf.zeros([1, 3, 2, 1]) as tf.Tensor4D, 4), /circular padding 4 must be an integer in 1\.\.3/);
});
