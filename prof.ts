import * as tf from '@tensorflow/tfjs';
import { createModel } from './ml/models/registry.ts';
import { Sgd } from './ml/train/sgd.ts';
import { trainStep } from './ml/train/step.ts';
await tf.setBackend('cpu');
const model = createModel({ arch: 'resnet18', width: 1 / 16, blocks: [1, 1, 1, 1], numClasses: 4, inputSize: 16 }, 3);
const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
const x = tf.randomUniform([16, 16, 16, 3]) as tf.Tensor4D;
const y = tf.tensor1d([0,1,2,3,0,1,2,3,0,1,2,3,0,1,2,3], 'int32');
for (let i = 0; i < 3; i++) { const t0 = performance.now(); trainStep(model, opt, x, y, 0.05); console.log('step', (performance.now()-t0).toFixed(0)); }
for (let i = 0; i < 2; i++) { const t0 = performance.now(); tf.tidy(() => model.logits(x, 'train').dataSync()); console.log('fwd', (performance.now()-t0).toFixed(0)); }
const prof = await tf.profile(() => { trainStep(model, opt, x, y, 0.05); });
const byKernel = new Map<string, number>();
for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log([...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10));
