/**
 * Where a train or input-gradient step spends its time, per kernel (tf.profile).
 * npx tsx bench/engine-profile.ts [--backend native] [--depth 18] [--width 16] [--batch 32] [--what train|grad]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice } from '../ml/backend/index.ts';
import { BenchResNet, inputGradient, trainStep, type Depth } from './engine-resnet.ts';
import { Rng } from '../ml/random.ts';
import { benchArg } from './bench-arg.ts';
import { kernelTimes, printKernelTimes, printNativeFallbacks } from './kernel-times.ts';

const arg = benchArg;
await initBackend(parseBackendChoice(arg('backend', 'auto'), '--backend'));
const depth = Number(arg('depth', '18')) as Depth;
const width = Number(arg('width', '16'));
const batch = Number(arg('batch', '32'));
const what = arg('what', 'train');
const model = new BenchResNet({ depth, width });
const opt = tf.train.momentum(0.01, 0.9);
const rng = new Rng(3);
const x = tf.tensor4d(rng.fillUniform(new Float32Array(batch * 32 * 32 * 3), 0, 1), [batch, 32, 32, 3]);
const y = tf.tensor1d(
  Array.from({ length: batch }, () => rng.int(10)),
  'int32',
);
const step = () => (what === 'train' ? trainStep(model, opt, x, y) : tf.dispose(inputGradient(model, x, y)));
step();
step();
const t0 = performance.now();
step();
const plain = performance.now() - t0;
const info = await tf.profile(step);
const times = kernelTimes(info.kernels);
console.log(`${what} step: ${plain.toFixed(0)} ms unprofiled; kernels sum ${times.total.toFixed(0)} ms over ${times.calls} calls`);
printKernelTimes(times, 25);
printNativeFallbacks();
