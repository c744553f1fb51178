// How long `repro table1 --profile cpu` and `repro fig3 --profile cpu` take on this machine,
// from short real measurements at the real sizes: one short run of each kind of node (every
// architecture's training for a fraction of an epoch, f_A, D_R inversion for a few steps, each
// attack kind on 50 images) on a generated CIFAR-format copy, then the calibrated dry runs of
// the real targets in the same folder. Timings on a shared machine are inflated, so the plan errs
// long. The generated copy has random pixels: only speed is measured here.
//
//   npx tsx bench/cpu-plan.ts [folder]   (keeps its lineage in folder/artifacts for later dry runs)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR10 } from '../ml/data/cifar10.ts';
import { Rng } from '../ml/random.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'rf-cpu-plan-'));
mkdirSync(dir, { recursive: true });
copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));

// 5 train batches of 2,000 records (the 10,000 the cpu profile trains on) and a test batch.
const cifar = join(dir, 'cifar');
if (!existsSync(join(cifar, CIFAR10.folder, CIFAR10.testFile))) {
  mkdirSync(join(cifar, CIFAR10.folder), { recursive: true });
  const rng = new Rng(0);
  for (const name of [...CIFAR10.trainFiles, CIFAR10.testFile]) {
    const n = 2000;
    const b = Buffer.alloc(n * CIFAR10.recordBytes);
    for (let i = 0; i < n; i++) {
      b[i * CIFAR10.recordBytes] = i % 10;
      for (let k = 1; k < CIFAR10.recordBytes; k++) b[i * CIFAR10.recordBytes + k] = rng.int(256);
    }
    writeFileSync(join(cifar, CIFAR10.folder, name), b);
  }
}

const env = { ...process.env, RF_CIFAR10: cifar };
const cli = (args: string[]) =>
  execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'pipeline.ts'), '--root', dir, '--profile', 'cpu', ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

// Shorter runs of the same nodes: the similarity keys (architecture, width, depth, batch, attack)
// do not include epochs, steps or counts, so these calibrate the full-size nodes.
const short = [
  'data.partial=true',
  'robust.source=build',
  'q3.train.epochs=0.4',
  'q2.train.epochs=0.4',
  'robust.train.epochs=0.1',
  'robust.build.steps=4',
  'robust.build.count=500',
  'evaluation.count=50',
].flatMap((s) => ['--set', s]);
const targets = [
  ...['G-ResNet-ResNet-18-D-std-lr0.1', 'PTN-ResNet-18-D-std-lr0.01', 'ResNet-50-ResNet-50-D-std-lr0.1', 'STN-ResNet-18-D-std-lr0.1'].flatMap((r) => [
    `evaluate@q3-${r}-none`,
    `evaluate@q3-${r}-grid775`,
  ]),
  'evaluate@q2-ResNet-18-alpha0-l2-0.25',
  'evaluate@q2-VGG-16-alpha0-l2-0.25',
  'evaluate@q2-ResNet-50-alpha0-linf-1',
  'build-dr',
];
const t0 = Date.now();
process.stdout.write(`calibration run in ${dir} (${targets.length} targets) ...\n`);
const out = cli(['repro', ...targets, ...short]);
process.stdout.write(
  `${out
    .split('\n')
    .filter((l) => /^ {2}done|^repro/.test(l))
    .join('\n')}\ncalibration took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
);
for (const target of ['table1', 'fig3']) {
  const plan = cli(['repro', target, '--dry-run', '--set', 'robust.source=build']);
  const lines = plan.split('\n');
  const formula = lines.filter((l) => /to run .*formula, not yet measured/.test(l)).length;
  const calibrated = lines.filter((l) => /to run .*calibrated on/.test(l)).length;
  process.stdout.write(
    `${target}: ${calibrated} estimates calibrated, ${formula} from the formula alone\n  ${lines.filter((l) => l.startsWith('dry run (')).join('')}\n`,
  );
}
