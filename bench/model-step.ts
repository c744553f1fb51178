/**
 * Steps per second of one of the demo's models on the project's backend (initBackend, so the
 * project kernels are registered): a training step (SGD with momentum and weight decay) or an
 * eval-mode forward pass, or `adv`: f_A's adversarial step (L2 PGD, eps 0.5, 3 steps of 0.25, then
 * the training step on the adversarial batch). Run it on two checkouts back to back for a before/after ratio, and
 * `--digest` prints a hash of the weights after the steps (the same on both when the change
 * leaves the arithmetic alone).
 *   npx tsx bench/model-step.ts [--arch gresnet18] [--width 0.125] [--batch 64] [--steps 20] [--what train|eval|adv] [--digest]
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { createModel } from '../ml/models/registry.ts';
import { benchArg } from './bench-arg.ts';
import { demoModelConfig, randomBatch } from './demo-model-bench.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';
import { pgdBatch } from '../ml/attacks/pgd.ts';

const arg = benchArg;
const info = await initBackendFromEnv();
const config = demoModelConfig();
const arch = config.arch;
const model = createModel(config, 1);
const opt = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
const n = Number(arg('batch', '64'));
const steps = Number(arg('steps', '20'));
const what = arg('what', 'train');
const { x, y } = randomBatch(n);
const adversarial = () => {
  const r = pgdBatch(model, x, y, { norm: 'l2', eps: 0.5, step: 0.25, iterations: 3 });
  r.loss.dispose();
  trainStep(model, opt, r.adversarial, y, 0.01);
  r.adversarial.dispose();
};
const step = () => (what === 'train' ? trainStep(model, opt, x, y, 0.01) : what === 'adv' ? adversarial() : tf.tidy(() => model.logits(x, 'eval').dataSync()));
step(); // warm-up: primitives built, pools filled
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const seconds = (performance.now() - t0) / 1000;
const hash = createHash('sha256');
for (const v of model.namedVariables) hash.update(new Uint8Array(v.variable.dataSync().buffer));
console.log(
  `${arch} width ${config.width} ${what} batch ${n}, ${steps} steps on ${info.name} (${info.threads} thread(s)): ${(steps / seconds).toFixed(3)} steps/s` +
    (process.argv.includes('--digest') ? `, weights ${hash.digest('hex').slice(0, 16)}` : ''),
);
tf.dispose([x, y]);
opt.dispose();
model.dispose();
