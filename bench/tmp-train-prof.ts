import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import { datasetSource } from '../ml/data/sources.ts';
import { augmentSpec } from '../ml/augment/standard.ts';
import { createModel } from '../ml/models/registry.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep, trainStepAsync } from '../ml/train/step.ts';
await initBackendFromEnv();
const D = openDataset(process.argv[2]!);
const src = datasetSource(D, { batchSize: 64, seed: 0, augment: augmentSpec('std') });
let t = performance.now();
for (let s = 0; s < 63; s++) src.batch(s);
console.log('63 batches (std):', (performance.now() - t).toFixed(0), 'ms');
const model = createModel({ arch: 'resnet18', width: 0.125, blocks: [1, 1, 1, 1], numClasses: 10, inputSize: 32 }, 0);
const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
for (const mode of ['sync', 'async', 'sync', 'async']) {
  t = performance.now();
  for (let s = 0; s < 63; s++) {
    const b = src.batch(s);
    const x = tf.tensor4d(b.x, [b.size, 32, 32, 3]);
    const y = tf.tensor1d(b.y, 'int32');
    if (mode === 'sync') trainStep(model, opt, x, y, 0.05); else await trainStepAsync(model, opt, x, y, 0.05);
    tf.dispose([x, y]);
  }
  console.log(mode, '63 steps with batches:', (performance.now() - t).toFixed(0), 'ms');
}
