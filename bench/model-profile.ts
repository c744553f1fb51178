/**
 * Where one training step of a demo model spends its time, per kernel and per kernel+shapes
 * (tf.profile), on the project's backend: the breakdown behind the native kernels' fusions.
 *   npx tsx bench/model-profile.ts [--arch gresnet18] [--width 0.125] [--batch 64] [--top 30]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { createModel } from '../ml/models/registry.ts';
import { benchArg } from './bench-arg.ts';
import { demoModelConfig, randomBatch } from './demo-model-bench.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';
import { byName, byNameAndShapes, kernelTimes, printKernelTimes } from './kernel-times.ts';

const arg = benchArg;
await initBackendFromEnv();
const config = demoModelConfig();
const arch = config.arch;
const model = createModel(config, 1);
const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
const n = Number(arg('batch', '64'));
const top = Number(arg('top', '30'));
const { x, y } = randomBatch(n);
const step = () => {
  trainStep(model, opt, x, y, 0.01);
};
step();
step();
const t0 = performance.now();
step();
const plain = performance.now() - t0;
const info = await tf.profile(step);
const names = kernelTimes(info.kernels, byName);
console.log(`${arch} w${config.width} b${n} train step: ${plain.toFixed(0)} ms unprofiled; kernels sum ${names.total.toFixed(0)} ms over ${names.calls} calls`);
console.log('by kernel:');
printKernelTimes(names, top);
console.log('by kernel and input shapes:');
printKernelTimes(kernelTimes(info.kernels, byNameAndShapes), top);
tf.dispose([x, y]);
opt.dispose();
model.dispose();
