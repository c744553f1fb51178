/**
 * Where one training step of a demo model spends its time, per kernel and per kernel+shapes
 * (tf.profile), on the project's backend: the breakdown behind the native kernels' fusions.
 *   npx tsx bench/model-profile.ts [--arch gresnet18] [--width 0.125] [--batch 64] [--top 30]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { createModel } from '../ml/models/registry.ts';
import { benchArg, demoModelConfig, randomBatch } from './demo-model-bench.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';

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
const byName = new Map<string, { ms: number; n: number }>();
const byShape = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  total += ms;
  for (const [map, key] of [
    [byName, k.name],
    [byShape, `${k.name} ${k.inputShapes.map((s) => `[${(s ?? []).join(',')}]`).join(' ')}`],
  ] as const) {
    const e = map.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    map.set(key, e);
  }
}
console.log(
  `${arch} w${config.width} b${n} train step: ${plain.toFixed(0)} ms unprofiled; kernels sum ${total.toFixed(0)} ms over ${info.kernels.length} calls`,
);
const print = (m: Map<string, { ms: number; n: number }>, k: number) => {
  for (const [name, e] of [...m.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, k)) {
    console.log(`  ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)} % ${String(e.n).padStart(5)} calls  ${name}`);
  }
};
console.log('by kernel:');
print(byName, top);
console.log('by kernel and input shapes:');
print(byShape, top);
tf.dispose([x, y]);
opt.dispose();
model.dispose();
