// Training throughput (images/s of full SGD steps: forward, backward, update, BN statistics) of a
// CIFAR ResNet on the current tfjs backend, beside PyTorch CPU on the same architecture and batch
// in the same run (bench/train-step.py), and their ratio.
//
//   npx tsx bench/train-step.ts [arch=resnet18] [width=0.125] [size=32] [batch=32] [steps=5] [torchThreads=1]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../ml/models/registry.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';

const [arch = 'resnet18', width = '0.125', size = '32', batch = '32', steps = '5', threads = '1'] = process.argv.slice(2);
await tf.setBackend(process.env.RF_BENCH_BACKEND ?? 'cpu');

const model = createModel({ arch: arch as 'resnet18', width: Number(width), numClasses: 10, inputSize: Number(size) }, 1);
const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
const n = Number(batch);
const x = tf.randomUniform([n, Number(size), Number(size), 3]) as tf.Tensor4D;
const y = tf.randomUniform([n], 0, 10, 'int32') as tf.Tensor1D;
trainStep(model, opt, x, y, 0.01); // warm-up
const t0 = performance.now();
for (let i = 0; i < Number(steps); i++) trainStep(model, opt, x, y, 0.01);
const ours = (n * Number(steps)) / ((performance.now() - t0) / 1000);

const script = fileURLToPath(new URL('./train-step.py', import.meta.url));
const torchOut = execFileSync('/usr/bin/python3', [script, arch, width, size, batch, steps, threads], { encoding: 'utf8' });
const ref = (JSON.parse(torchOut.trim().split('\n').at(-1)!) as { imagesPerSecond: number }).imagesPerSecond;
console.log(`${arch} width ${width}, ${size}x${size}, batch ${n}, ${steps} steps`);
console.log(`  tfjs ${tf.getBackend()}: ${ours.toFixed(1)} img/s`);
console.log(`  PyTorch CPU (${threads} thread${threads === '1' ? '' : 's'}): ${ref.toFixed(1)} img/s`);
console.log(`  ratio tfjs / PyTorch: ${(ours / ref).toFixed(3)}`);
tf.dispose([x, y]);
opt.dispose();
model.dispose();
