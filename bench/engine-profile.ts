/**
 * Where a train or input-gradient step spends its time, per kernel (tf.profile).
 * npx tsx bench/engine-profile.ts [--backend native] [--depth 18] [--width 16] [--batch 32] [--what train|grad]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice } from '../ml/backend/index.ts';
import { BenchResNet, inputGradient, trainStep, type Depth } from './engine-resnet.ts';
import { Rng } from '../ml/random.ts';
import { nativeFallbacks } from '../ml/backend/native/kernels.ts';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1]! : d;
};
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
const byKernel = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n += 1;
  byKernel.set(k.name, e);
  total += ms;
}
console.log(`${what} step: ${plain.toFixed(0)} ms unprofiled; kernels sum ${total.toFixed(0)} ms over ${info.kernels.length} calls`);
for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(`${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)} %  ${String(e.n).padStart(4)} calls`);
}
if (nativeFallbacks.size > 0) {
  console.log('native kernels handed to cpu:');
  for (const [k, n] of [...nativeFallbacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${n} x ${k}`);
}
