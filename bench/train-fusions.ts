/**
 * Training speed of a demo model with the training fusions (group batch norm, batch norm + ReLU,
 * the residual join, the SGD step: ml/backend/) against the same steps without them, in one process:
 * two copies of the model from one seed, stepped in alternating rounds (fused, then composed), so
 * the load of a shared machine hits both alike. Without the fused kernels each op takes its
 * composed route, which is the code before them. Prints steps/s of each and their ratio, the same
 * for the process's CPU time per step (with RF_THREADS=1 the steadier figure on a shared machine),
 * and whether the two copies' weights are bit-identical at the end (they must be). --control runs
 * both copies without the fusions (the ratios then show the method's own bias and noise).
 *   npx tsx bench/train-fusions.ts [--arch gresnet18] [--width 0.125] [--batch 64] [--steps 5] [--rounds 4] [--what train|adv] [--control]
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { GBN_AFFINE_GRAD_KERNEL, GBN_AFFINE_KERNEL, GBN_CENTRE_GRAD_KERNEL, GBN_CENTRE_KERNEL } from '../ml/backend/group-batch-norm.ts';
import { BN_TRAIN_RELU_GRAD_KERNEL, BN_TRAIN_RELU_KERNEL } from '../ml/backend/batch-norm-relu.ts';
import { ADD_RELU_KERNEL } from '../ml/backend/add-relu.ts';
import { SGD_UPDATE_KERNEL } from '../ml/backend/sgd-update.ts';
import { createModel } from '../ml/models/registry.ts';
import type { Model } from '../ml/models/model.ts';
import { benchArg } from './bench-arg.ts';
import { demoModelConfig, randomBatch } from './demo-model-bench.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';
import { pgdBatch } from '../ml/attacks/pgd.ts';

const arg = benchArg;
const info = await initBackendFromEnv();
const FUSED = [
  GBN_CENTRE_KERNEL,
  GBN_CENTRE_GRAD_KERNEL,
  GBN_AFFINE_KERNEL,
  GBN_AFFINE_GRAD_KERNEL,
  BN_TRAIN_RELU_KERNEL,
  BN_TRAIN_RELU_GRAD_KERNEL,
  ADD_RELU_KERNEL,
  SGD_UPDATE_KERNEL,
];
const configs = FUSED.map((k) => tf.getKernel(k, info.name)).filter((c): c is KernelConfig => c !== undefined);
if (configs.length !== FUSED.length) {
  console.log(`the ${info.name} backend lacks the fused kernels (they are native's): nothing to compare`);
  process.exit(0);
}
const fusions = (on: boolean) => {
  for (const c of configs) {
    const has = tf.getKernel(c.kernelName, c.backendName) !== undefined;
    if (on && !has) tf.registerKernel(c);
    if (!on && has) tf.unregisterKernel(c.kernelName, c.backendName);
  }
};

const config = demoModelConfig();
const arch = config.arch;
const n = Number(arg('batch', '64'));
const steps = Number(arg('steps', '5'));
const rounds = Number(arg('rounds', '4'));
const what = arg('what', 'train');
const { x, y } = randomBatch(n);

interface Run {
  readonly model: Model;
  readonly opt: Sgd;
  seconds: number;
  /** Process CPU time (user + system) while this copy stepped: on a shared machine it moves far less than wall time. */
  cpu: number;
}
const make = (): Run => {
  const model = createModel(config, 1);
  return { model, opt: new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 }), seconds: 0, cpu: 0 };
};
const step = (r: Run) => {
  if (what === 'adv') {
    const a = pgdBatch(r.model, x, y, { norm: 'l2', eps: 0.5, step: 0.25, iterations: 3 });
    a.loss.dispose();
    trainStep(r.model, r.opt, a.adversarial, y, 0.01);
    a.adversarial.dispose();
  } else {
    trainStep(r.model, r.opt, x, y, 0.01);
  }
};
const runs = { fused: make(), composed: make() };
// --control: both copies without the fusions (what the alternation itself costs or biases).
const control = process.argv.includes('--control');
const timed = (r: Run, on: boolean, count: number) => {
  fusions(on);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) step(r);
  const c = process.cpuUsage(c0);
  r.seconds += (performance.now() - t0) / 1000;
  r.cpu += (c.user + c.system) / 1e6;
};
// Warm-up step each (pools filled, primitives built), not timed.
timed(runs.fused, !control, 1);
timed(runs.composed, false, 1);
for (const r of Object.values(runs)) r.seconds = r.cpu = 0;
for (let i = 0; i < rounds; i++) {
  timed(runs.fused, !control, steps);
  timed(runs.composed, false, steps);
}
fusions(true);
const digest = (m: Model) => {
  const h = createHash('sha256');
  for (const v of m.namedVariables) h.update(new Uint8Array(v.variable.dataSync().buffer));
  return h.digest('hex').slice(0, 16);
};
const total = steps * rounds;
const [fast, slow] = [total / runs.fused.seconds, total / runs.composed.seconds];
const [cpuF, cpuC] = [(1000 * runs.fused.cpu) / total, (1000 * runs.composed.cpu) / total];
const [dF, dC] = [digest(runs.fused.model), digest(runs.composed.model)];
console.log(
  `${arch} w${config.width} ${what} batch ${n} on ${info.name} (${info.threads} thread(s)), ${rounds} x ${steps} steps each, alternating: ` +
    `fused ${fast.toFixed(3)} steps/s, composed ${slow.toFixed(3)} steps/s, ratio ${(fast / slow).toFixed(3)}; ` +
    `CPU ms/step fused ${cpuF.toFixed(1)}, composed ${cpuC.toFixed(1)}, ratio ${(cpuC / cpuF).toFixed(3)}; ` +
    `weights ${dF === dC ? `bit-identical (${dF})` : `DIFFER (${dF} vs ${dC})`}`,
);
for (const r of Object.values(runs)) {
  r.opt.dispose();
  r.model.dispose();
}
tf.dispose([x, y]);
if (dF !== dC) process.exit(1);
