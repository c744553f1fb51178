import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { guardSharing, type NativeBackend } from '../ml/backend/native/backend.ts';
import { BenchResNet, inputGradient, trainStep } from '../bench/engine-resnet.ts';
import { assertClose, randomArray, runOn } from './backend-compare.ts';

const skip = nativeSkip();

test('recycled output buffers: a dataSync() array survives its tensor, and reuse gives right values', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const n = 1 << 16; // above the recycling threshold
  const xv = randomArray(1, [n]);
  const x = tf.tensor1d(xv);
  const y = tf.relu(x);
  const kept = y.dataSync();
  y.dispose(); // its buffer goes back to the pool
  const z = tf.neg(x); // same length: takes the recycled buffer
  const zv = z.dataSync();
  for (let i = 0; i < n; i += 997) {
    assert.equal(kept[i], Math.max(0, xv[i]!));
    assert.equal(zv[i], -xv[i]!);
  }
  tf.dispose([x, z]);
});

test('a cpu kernel whose output shares its input storage takes that buffer out of recycling', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const b = tf.backend() as NativeBackend;
  const x = tf.relu(tf.tensor1d(randomArray(2, [1 << 15]))); // a native (recyclable) output
  const values = b.data.get(x.dataId)!.values;
  assert.ok(b.isOwned(values));
  const sharing: KernelFunc = ({ inputs, backend }) => {
    const t = (inputs as { x: TensorInfo }).x;
    return (backend as NativeBackend).makeTensorInfo([...t.shape], 'float32', (backend as NativeBackend).data.get(t.dataId)!.values);
  };
  const out = guardSharing(sharing)({ inputs: { x }, backend: b, attrs: {} }) as TensorInfo;
  assert.ok(!b.isOwned(values));
  b.disposeData(out.dataId);
  x.dispose();
});

/** Two SGD steps of a small ResNet, then the weights and an input gradient. */
function trainTwoSteps(): tf.Tensor[] {
  const model = new BenchResNet({ depth: 18, width: 4 }, 11);
  // sgd, not momentum: tfjs 4.22's MomentumOptimizer.dispose leaks its learning-rate scalar.
  const opt = tf.train.sgd(0.1);
  const x = tf.tensor4d(randomArray(3, [4, 32, 32, 3], 0, 1), [4, 32, 32, 3]);
  const y = tf.tensor1d([1, 4, 4, 9], 'int32');
  trainStep(model, opt, x, y);
  trainStep(model, opt, x, y);
  const out = [...model.variables.slice(0, 6).map((v) => v.clone()), model.variables[model.variables.length - 2]!.clone(), inputGradient(model, x, y)];
  model.dispose();
  opt.dispose();
  return out;
}

test('two ResNet-18 (width 4, batch 4: recycled buffers in play) training steps on native match the cpu backend', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const want = await runOn('cpu', trainTwoSteps);
  const got = await runOn('native', trainTwoSteps);
  got.forEach((g, i) => assertClose(g, want[i]!, 2e-3, `tensor ${i}`));
});
