/**
 * What the demo-model benches (model-step, model-profile, train-fusions) share: the demo's model
 * config for an architecture and width (blocks [1, 1, 1, 1], 32x32 inputs, 10 classes, G-ResNets
 * with group pooling), and a seeded random batch.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { Rng } from '../ml/random.ts';
import { benchArg } from './bench-arg.ts';

/** The demo model named by --arch (default gresnet18) and --width (default 0.125). */
export function demoModelConfig(): ModelConfigInput {
  const arch = benchArg('arch', 'gresnet18');
  return {
    arch,
    width: Number(benchArg('width', '0.125')),
    blocks: [1, 1, 1, 1],
    numClasses: 10,
    inputSize: 32,
    ...(arch.startsWith('gresnet') ? { groupPool: true } : {}),
  } as ModelConfigInput;
}

/** n random 32x32x3 images in [0, 1] and labels, from seed 3 (images drawn first, then labels). */
export function randomBatch(n: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(3);
  const x = tf.tensor4d(rng.fillUniform(new Float32Array(n * 32 * 32 * 3), 0, 1), [n, 32, 32, 3]);
  const y = tf.tensor1d(
    Int32Array.from({ length: n }, () => rng.int(10)),
    'int32',
  );
  return { x, y };
}
