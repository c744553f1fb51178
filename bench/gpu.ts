/**
 * npm run bench:gpu [-- --small] [--seconds 5] [--no-torch]
 *
 * Throughput of the project's own models on the webgpu backend: ResNet-18 and ResNet-50 training
 * steps (full width, CIFAR size, batch 128), an L2-PGD step of ResNet-18 and a grid775 evaluation
 * (every one of the 775 rotation/translation points for each image, as `exhaustive` grid attacks
 * run). Where `python3 -c 'import torch'` finds CUDA, PyTorch runs the same workloads on the same
 * GPU in this invocation (bench/reference/gpu_bench.py; fp32 with TF32 off, and PyTorch's default)
 * and the ratios ours / PyTorch are printed. On a software adapter (llvmpipe) the figures are
 * printed with a line saying they are not a GPU's; `--small` (width 0.125, batch 16, 1 grid
 * image) makes a run there take a few minutes (on an idle machine).
 */
import { timed } from './timed.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { createModel } from '../ml/models/registry.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { trainStepAsync } from '../ml/train/step.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { pgdBatch } from '../ml/attacks/pgd.ts';
import { gridAttack } from '../ml/attacks/spatial.ts';
import { gridMotions } from '../ml/attacks/grids.ts';
import { Rng } from '../ml/random.ts';
import { benchArg } from './bench-arg.ts';

const small = process.argv.includes('--small');
const seconds = Number(benchArg('seconds', small ? '2' : '5'));
const noTorch = process.argv.includes('--no-torch');
const width = small ? 0.125 : 1;
const batch = small ? 16 : 128;
const gridImages = small ? 1 : 16;

const info = await initBackend('webgpu');
const software = !info.gpu;
console.log(`# ${info.version}`);
if (software) console.log('# NOT A GPU: this adapter is a CPU rasteriser (llvmpipe or similar); the figures below say nothing about a GPU');

const rng = new Rng(0);
const xs = rng.fillUniform(new Float32Array(batch * 32 * 32 * 3), 0, 1);
const ys = Int32Array.from({ length: batch }, () => rng.int(10));
const cfg = (arch: 'resnet18' | 'resnet50'): ModelConfigInput => ({ arch, width, numClasses: 10, inputSize: 32 });

const ours: Record<string, number> = {};
const unit: Record<string, string> = {};

for (const arch of ['resnet18', 'resnet50'] as const) {
  const model = createModel(cfg(arch), 1);
  const sgd = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
  const x = tf.tensor4d(xs, [batch, 32, 32, 3]);
  const y = tf.tensor1d(ys, 'int32');
  // Each step ends by reading its loss, so the time covers the GPU's work, not just its queueing.
  const r = await timed(async () => void (await trainStepAsync(model, sgd, x, y, 0.01)), batch, { seconds });
  const key = `train-r${arch === 'resnet18' ? 18 : 50}`;
  ours[key] = r.perS;
  unit[key] = 'img/s';
  console.log(`${key}: ${r.perS.toFixed(1)} img/s (${r.steps} steps, width ${width}, batch ${batch})`);
  tf.dispose([x, y]);
  sgd.dispose();
  model.dispose();
}

{
  const model = createModel(cfg('resnet18'), 2);
  const x = tf.tensor4d(xs, [batch, 32, 32, 3]);
  const y = tf.tensor1d(ys, 'int32');
  const r = await timed(
    async () => {
      const out = pgdBatch(model, x, y, { norm: 'l2', eps: 0.5, step: 0.25, iterations: 1 });
      await out.adversarial.data();
      tf.dispose([out.adversarial, out.loss]);
    },
    batch,
    { seconds },
  );
  ours['pgd-l2'] = r.perS;
  unit['pgd-l2'] = 'img/s';
  console.log(`pgd-l2: ${r.perS.toFixed(1)} img/s (one L2-PGD iteration of ResNet-18, ${r.steps} steps)`);
  tf.dispose([x, y]);
  model.dispose();
}

{
  const model = createModel(cfg('resnet18'), 3);
  const motions = gridMotions('grid775');
  const images = xs.subarray(0, gridImages * 32 * 32 * 3);
  const labels = Array.from(ys.subarray(0, gridImages));
  const r = await timed(
    async () => void (await gridAttack(model, images, { height: 32, width: 32, channels: 3 }, labels, motions, { batchSize: batch, exhaustive: true })),
    gridImages * motions.length,
    { seconds, minSteps: 2 },
  );
  ours['grid775'] = r.perS;
  unit['grid775'] = '(image, motion) pairs/s';
  console.log(
    `grid775: ${r.perS.toFixed(1)} (image, motion) pairs/s = ${(r.perS / motions.length).toPrecision(3)} images/s (${gridImages} images, ${r.steps} runs)`,
  );
  model.dispose();
}

const python = process.env.RF_PYTHON ?? 'python3';
const probe = noTorch ? undefined : spawnSync(python, ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' });
if (probe === undefined) console.log('# PyTorch: skipped (--no-torch)');
else if (probe.status !== 0 || probe.stdout.trim() !== 'True') {
  console.log(
    `# PyTorch: no CUDA here (${probe.status !== 0 ? `python3 failed: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}` : 'torch.cuda.is_available() is False'}), so no ratios`,
  );
} else {
  const script = fileURLToPath(new URL('./reference/gpu_bench.py', import.meta.url));
  for (const tf32 of ['off', 'default'] as const) {
    const r = spawnSync(
      python,
      [
        script,
        '--batch',
        String(batch),
        '--width',
        String(Math.round(64 * width)),
        '--grid-images',
        String(gridImages),
        '--seconds',
        String(seconds),
        '--tf32',
        tf32,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      console.log(`# PyTorch (tf32 ${tf32}) failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    for (const line of r.stdout.trim().split('\n')) {
      const row = JSON.parse(line) as { what: string; per_s: number; gpu: string; torch: string };
      const mine = ours[row.what];
      const ratio = mine === undefined ? '?' : (mine / row.per_s).toFixed(3);
      console.log(`torch ${row.torch} on ${row.gpu}, TF32 ${tf32}: ${row.what} ${row.per_s.toFixed(1)} ${unit[row.what] ?? ''}; ours / torch = ${ratio}`);
    }
  }
}
if (software) console.log('# (again) figures from a software adapter, not a GPU');
