// The bilinear-sampling loop kernels against the op composed from tfjs ops (itself checked against
// PyTorch's grid_sample and finite differences in models-sampler.test.ts): values and all three
// gradients, with sample points inside, on exact pixel centres, on the border and outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BILINEAR_SAMPLE_KERNEL, hasBilinearSampleKernel, registerBilinearSample, runBilinearSample } from '../ml/backend/bilinear-sample.ts';
import { initBackend } from '../ml/backend/index.ts';
import { composedBilinearSample } from '../ml/models/sampler.ts';
import { Rng } from '../ml/random.ts';
import { assertClose, randomArray, testLoopKernelOnBackends } from './backend-compare.ts';

const [N, H, W, C, HO, WO] = [3, 6, 7, 3, 5, 4];

/** Coordinates in [-2, size + 1], a quarter of them snapped to integers (corner and border cases). */
function coordinates(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  const out = rng.fillUniform(new Float32Array(N * HO * WO), -2, size + 1);
  for (let i = 0; i < out.length; i += 4) out[i] = Math.round(out[i]!);
  return out;
}

const image = randomArray(1, [N, H, W, C]);
const xs = coordinates(2, W);
const ys = coordinates(3, H);
const weights = randomArray(4, [N, HO, WO, C]);

type Sampler = (image: tf.Tensor4D, xs: tf.Tensor3D, ys: tf.Tensor3D) => tf.Tensor4D;

/** The samples, then d/dimage, d/dxs, d/dys of sum(weights * samples); copies, nothing leaked. */
function valuesAndGrads(sample: Sampler): Float32Array[] {
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => {
    const args = [tf.tensor4d(image, [N, H, W, C]), tf.tensor3d(xs, [N, HO, WO]), tf.tensor3d(ys, [N, HO, WO])] as const;
    const w = tf.tensor4d(weights, [N, HO, WO, C]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(w, sample(a as tf.Tensor4D, b as tf.Tensor3D, c as tf.Tensor3D)));
    return [sample(...args), ...tf.grads(f)([...args])];
  });
  const copies = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return copies;
}

async function compareOn(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend), `${backend} did not start`);
  assert.ok(hasBilinearSampleKernel(), `${BILINEAR_SAMPLE_KERNEL} is not registered for ${backend}`);
  const kernel = valuesAndGrads(runBilinearSample);
  const composed = valuesAndGrads(composedBilinearSample);
  for (const [i, what] of ['samples', 'd/dimage', 'd/dxs', 'd/dys'].entries()) assertClose(kernel[i]!, composed[i]!, 1e-5, `${backend} ${what}`);
  // Not vacuous: the gradients are non-zero and some samples fall outside entirely.
  for (const g of kernel.slice(1)) assert.ok(g.some((v) => Math.abs(v) > 1e-3));
  assert.ok(kernel[0]!.some((v) => v === 0));
}

testLoopKernelOnBackends('loop kernel equals the composed op (values and gradients)', registerBilinearSample, compareOn);

test('wasm has no loop kernel and samples through the composed op', async () => {
  await initBackend('wasm', { log: () => {} });
  assert.equal(hasBilinearSampleKernel(), false);
});

test('mismatched shapes are named', async () => {
  registerBilinearSample();
  await tf.setBackend('cpu');
  assert.throws(
    () => runBilinearSample(tf.zeros([2, 4, 4, 1]) as tf.Tensor4D, tf.zeros([1, 3, 3]) as tf.Tensor3D, tf.zeros([1, 3, 3]) as tf.Tensor3D),
    /RfBilinearSample: image \[2,4,4,1\], xs \[1,3,3\], ys \[1,3,3\] do not agree/,
  );
});
