import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { availableBackends, initBackend, type BackendName } from '../ml/backend/index.ts';
import { BenchResNet, inputGradient, trainStep } from '../bench/engine-resnet.ts';
import { randomArray } from './backend-compare.ts';

const available = await availableBackends();

/** Engine tensors and the backend's own buffers (which project kernels allocate directly). */
function counts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

for (const backend of ['native', 'wasm'] as BackendName[]) {
  test(
    `train and input-gradient steps on ${backend} leak no tensors or backend buffers`,
    { skip: available.includes(backend) ? false : `${backend} backend not available` },
    async () => {
      await initBackend(backend, { log: () => {} });
      const model = new BenchResNet({ depth: 18, width: 4 }, 5);
      const opt = tf.train.momentum(0.01, 0.9);
      const x = tf.tensor4d(randomArray(1, [2, 32, 32, 3], 0, 1), [2, 32, 32, 3]);
      const y = tf.tensor1d([3, 7], 'int32');
      trainStep(model, opt, x, y); // creates the optimiser's momentum slots
      const afterFirstTrain = counts();
      for (let i = 0; i < 3; i++) trainStep(model, opt, x, y);
      assert.deepEqual(counts(), afterFirstTrain, 'train steps');
      tf.dispose(inputGradient(model, x, y));
      const afterFirstGrad = counts();
      for (let i = 0; i < 3; i++) {
        const g = inputGradient(model, x, y);
        assert.deepEqual(g.shape, [2, 32, 32, 3]);
        g.dispose();
      }
      assert.deepEqual(counts(), afterFirstGrad, 'input-gradient steps');
      model.dispose();
      opt.dispose();
      tf.dispose([x, y]);
    },
  );
}
