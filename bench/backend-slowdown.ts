// How much slower training is on wasm and cpu than on native, measured in one run (interleaved,
// each backend on the same model and batch, one kernel thread) on this machine. The numbers
// behind ml/backend/planned.ts MEASURED_SLOWDOWN and the warning `repro` prints on a fallback.
//
//   npx tsx bench/backend-slowdown.ts [width=0.125] [batch=64] [steps=4] [rounds=2]
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../ml/backend/index.ts';
import { createModel } from '../ml/models/registry.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';

const [width = '0.125', batch = '64', steps = '4', rounds = '2'] = process.argv.slice(2);
const names: BackendName[] = ['native', 'wasm', 'cpu'];
const rate = new Map<BackendName, number[]>(names.map((n) => [n, []]));

async function measure(name: BackendName): Promise<number> {
  await initBackend(name, { threads: 1, log: () => {} });
  const model = createModel({ arch: 'resnet18', width: Number(width), numClasses: 10, inputSize: 32 }, 1);
  const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
  const n = Number(batch);
  const x = tf.randomUniform([n, 32, 32, 3]) as tf.Tensor4D;
  const y = tf.randomUniform([n], 0, 10, 'int32') as tf.Tensor1D;
  trainStep(model, opt, x, y, 0.01); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < Number(steps); i++) trainStep(model, opt, x, y, 0.01);
  const r = (n * Number(steps)) / ((performance.now() - t0) / 1000);
  tf.dispose([x, y]);

  return r;
}

for (let k = 0; k < Number(rounds); k++) for (const name of names) rate.get(name)!.push(await measure(name));
const best = (n: BackendName) => Math.max(...rate.get(n)!);
console.log(`ResNet-18 width ${width}, batch ${batch}, ${steps} train steps x ${rounds} rounds, 1 thread (best round)`);
for (const n of names) console.log(`  ${n.padEnd(6)} ${best(n).toFixed(1)} img/s   native/${n} = ${(best('native') / best(n)).toFixed(2)}x`);
