// Benchmark: spatial grid attack (grid775) and L2-PGD (eps 0.5, step 0.1, 100 iterations) on the
// same small ResNet-18-like network with the same weights and images, ours (tfjs, backend chosen by
// --backend) beside a PyTorch reference (bench/reference/attacks.py) measured in the same run.
//
// APGD-CE (L2 eps 0.5, --pgd-steps iterations, one restart; once as it runs, where an image leaves
// the batch when fooled, and once walking every image to the end), FAB-T (one target, the same
// steps), Square (L2 eps 0.5,
// --square-queries) and the demo's AutoAttack (aa-*-lite settings) run on the PGD images too (ours
// only; no reference): their cost per image is printed beside PGD's, measured in the same run.
//
// grid775 runs twice: as the attack (early stopping: a fooled image gets no more work) on
// --grid-images, and exhaustively (every point for every image: the worst case, a spatially robust
// model) on --grid-full-images.
//
//   npm run bench:attacks -- [--backend wasm|cpu|...] [--images 256] [--grid-images N] [--grid-full-images 32] [--pgd-images N]
//                            [--pgd-steps 100] [--width 8] [--batch 256] [--pgd-batch 64]
//                            [--torch-threads 1] [--no-reference] [--square-queries 1000] [--eps 0.5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { gridMotions } from '../ml/attacks/grids.ts';
import { apgdBatch } from '../ml/attacks/apgd.ts';
import { fabBatch } from '../ml/attacks/fab.ts';
import { autoAttackBatch } from '../ml/attacks/autoattack.ts';
import { ATTACK_PRESETS, describeAttack } from '../ml/attacks/config.ts';
import { pgdBatch } from '../ml/attacks/pgd.ts';
import { squareBatch } from '../ml/attacks/square.ts';
import { imageRngs } from '../ml/attacks/threat.ts';
import { attackOrder, gridAttack } from '../ml/attacks/spatial.ts';
import { Rng } from '../ml/random.ts';
import { warpBatch } from '../ml/transform/rigid.ts';
import { BenchResNet, benchResNetWeights } from './attacks-net.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string' },
    images: { type: 'string', default: '256' },
    'grid-images': { type: 'string' },
    'grid-full-images': { type: 'string', default: '32' },
    'pgd-images': { type: 'string' },
    'pgd-steps': { type: 'string', default: '100' },
    width: { type: 'string', default: '8' },
    batch: { type: 'string', default: '256' },
    'pgd-batch': { type: 'string', default: '64' },
    'torch-threads': { type: 'string', default: '1' },
    'no-reference': { type: 'boolean', default: false },
    'square-queries': { type: 'string', default: '1000' },
    eps: { type: 'string', default: '0.5' },
  },
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const images = int('images', args.images);
const gridImages = int('grid-images', args['grid-images'] ?? args.images);
const gridFullImages = int('grid-full-images', args['grid-full-images']);
const pgdImages = int('pgd-images', args['pgd-images'] ?? args.images);
const pgdSteps = int('pgd-steps', args['pgd-steps']);
const width = int('width', args.width);
const batch = int('batch', args.batch);
const pgdBatchSize = int('pgd-batch', args['pgd-batch']);
const torchThreads = int('torch-threads', args['torch-threads']);
const squareQueries = int('square-queries', args['square-queries']);
// The L2 radius of PGD, APGD, Square and AutoAttack: a small one leaves most images unbroken, the
// worst case for the attacks that stop at success.
const eps = Number(args.eps);
if (!(eps > 0 && Number.isFinite(eps))) throw new Error(`--eps must be a positive number, got ${args.eps}`);
const H = 32,
  W = 32,
  C = 3,
  S = H * W * C;

/** The requested backend, or the first of wasm, cpu that initialises. */
async function chooseBackend(requested?: string): Promise<string> {
  for (const name of requested ? [requested] : ['wasm', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch (e) {
      if (requested) throw e;
    }
  }
  throw new Error(`no tfjs backend could be initialised (${requested ?? 'wasm, cpu'})`);
}

/** Smooth random colour images (a few sinusoids plus noise), deterministic. */
function benchImages(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    const waves = Array.from({ length: 3 }, () => [
      rng.uniform(0.5, 3),
      rng.uniform(0.5, 3),
      rng.uniform(0, 6.3),
      rng.uniform(-0.3, 0.3),
      rng.uniform(-0.3, 0.3),
      rng.uniform(-0.3, 0.3),
    ]);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          let v = 0.5;
          for (const w of waves) v += w[3 + c]! * Math.sin((2 * Math.PI * (w[0]! * x + w[1]! * y)) / W + w[2]!);
          out[i * S + (y * W + x) * C + c] = Math.min(1, Math.max(0, v + 0.03 * rng.normal()));
        }
  }
  return out;
}

const backend = await chooseBackend(args.backend);
const weights = benchResNetWeights(width, 7);
const model = new BenchResNet(width, weights);
const n = Math.max(images, gridImages, gridFullImages, pgdImages);
const data = benchImages(n, 8);
const labels = tf.tidy(() => {
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    out.set(tf.argMax(model.logits(tf.tensor4d(data.subarray(s * S, (s + m) * S), [m, H, W, C]), 'eval'), 1).dataSync() as Int32Array, s);
  }
  return out;
});
const classesSeen = new Set(labels).size;

// Warm-up (kernel initialisation, first-call allocation): one forward at the grid batch size and
// one gradient at the PGD batch size, outside the timings. The reference does the same.
tf.tidy(() => {
  const wb = Math.min(batch, n);
  model.logits(tf.tensor4d(data.subarray(0, wb * S), [wb, H, W, C]), 'eval').dataSync();
  const pb = Math.min(pgdBatchSize, n);
  tf.grad((x: tf.Tensor) => model.logits(x as tf.Tensor4D, 'eval').sum())(tf.tensor4d(data.subarray(0, pb * S), [pb, H, W, C])).dataSync();
});

// Ours: grid775 (all 775 points, identity included, in the attack's order) on the first gridImages.
const grid = gridMotions('grid775');
const ordered = attackOrder(grid).map((i) => grid[i]!);
let t0 = performance.now();
const gridResult = await gridAttack(model, data.subarray(0, gridImages * S), { height: H, width: W, channels: C }, labels.subarray(0, gridImages), ordered, {
  batchSize: batch,
  pointsPerRound: 32,
});
const gridSeconds = (performance.now() - t0) / 1000;
console.error(`ours grid775: ${gridSeconds.toFixed(1)} s`);
const oursGrid = { seconds: gridSeconds, robust: gridResult.robust.reduce((a, b) => a + b, 0), evaluations: gridResult.evaluations };
t0 = performance.now();
const fullResult = await gridAttack(
  model,
  data.subarray(0, gridFullImages * S),
  { height: H, width: W, channels: C },
  labels.subarray(0, gridFullImages),
  ordered,
  {
    batchSize: batch,
    pointsPerRound: 32,
    exhaustive: true,
  },
);
const oursFull = { seconds: (performance.now() - t0) / 1000, robust: fullResult.robust.reduce((a, b) => a + b, 0), evaluations: fullResult.evaluations };
console.error(`ours grid775 exhaustive: ${oursFull.seconds.toFixed(1)} s`);

// Ours: L2-PGD, eps 0.5, step 0.1, pgdSteps iterations, untargeted against the clean predictions.
t0 = performance.now();
let pgdRobust = 0;
for (let s = 0; s < pgdImages; s += pgdBatchSize) {
  const m = Math.min(pgdBatchSize, pgdImages - s);
  const x = tf.tensor4d(data.subarray(s * S, (s + m) * S), [m, H, W, C]);
  const y = tf.tensor1d(labels.subarray(s, s + m), 'int32');
  const r = pgdBatch(model, x, y, { norm: 'l2', eps, step: 0.1, iterations: pgdSteps });
  const pred = tf.tidy(() => tf.argMax(model.logits(r.adversarial, 'eval'), 1));
  const p = await pred.data();
  for (let k = 0; k < m; k++) if (p[k] === labels[s + k]) pgdRobust++;
  tf.dispose([x, y, r.adversarial, r.loss, pred]);
}
const oursPgd = { seconds: (performance.now() - t0) / 1000, robust: pgdRobust };
console.error(`ours L2-PGD-${pgdSteps}: ${oursPgd.seconds.toFixed(1)} s; running the PyTorch reference`);

// Ours: APGD-CE and Square at the same budget, same images and batches (success: misclassified).
async function timed(
  name: string,
  run: (x: tf.Tensor4D, y: tf.Tensor1D, s: number, m: number) => { adversarial: tf.Tensor4D; fooled: Uint8Array; queriesUsed?: Int32Array },
) {
  const start = performance.now();
  let robust = 0;
  let queries = 0;
  for (let s = 0; s < pgdImages; s += pgdBatchSize) {
    const m = Math.min(pgdBatchSize, pgdImages - s);
    const x = tf.tensor4d(data.subarray(s * S, (s + m) * S), [m, H, W, C]);
    const y = tf.tensor1d(labels.subarray(s, s + m), 'int32');
    const r = run(x, y, s, m);
    robust += r.fooled.reduce((a, v) => a + (v ? 0 : 1), 0);
    queries += r.queriesUsed?.reduce((a, v) => a + v, 0) ?? 0;
    tf.dispose([x, y, r.adversarial]);
  }
  const seconds = (performance.now() - start) / 1000;
  console.error(`ours ${name}: ${seconds.toFixed(1)} s`);
  return { seconds, robust, queries };
}
const ids = (s: number, m: number) => Array.from({ length: m }, (_, k) => s + k);
const oursApgd = await timed(`L2-APGD-CE-${pgdSteps}`, (x, y, s, m) =>
  apgdBatch(model, x, y, { norm: 'l2', eps, iterations: pgdSteps, restarts: 1, loss: 'ce', rngs: imageRngs(0, 'bench-apgd', ids(s, m)) }),
);
const oursApgdFull = await timed(`L2-APGD-CE-${pgdSteps}, every image to the end`, (x, y, s, m) =>
  apgdBatch(model, x, y, {
    norm: 'l2',
    eps,
    iterations: pgdSteps,
    restarts: 1,
    loss: 'ce',
    untilFooled: false,
    rngs: imageRngs(0, 'bench-apgd', ids(s, m)),
  }),
);
// FAB-T toward each image's runner-up class (AutoAttack's first target), the same steps.
const runnerUp = tf.tidy(() => {
  const out = new Int32Array(pgdImages);
  for (let s = 0; s < pgdImages; s += pgdBatchSize) {
    const m = Math.min(pgdBatchSize, pgdImages - s);
    const top = tf.topk(model.logits(tf.tensor4d(data.subarray(s * S, (s + m) * S), [m, H, W, C]), 'eval'), 2).indices.arraySync() as number[][];
    top.forEach((r, k) => (out[s + k] = r[0] === labels[s + k] ? r[1]! : r[0]!));
  }
  return out;
});
const oursFab = await timed(`L2-FAB-T-${pgdSteps}`, (x, y, s, m) => {
  const targets = tf.tensor1d(runnerUp.subarray(s, s + m), 'int32');
  try {
    return fabBatch(model, x, y, { norm: 'l2', eps, iterations: pgdSteps, targets });
  } finally {
    targets.dispose();
  }
});
const aaLite = { ...ATTACK_PRESETS['aa-l2-0.5-lite'], eps };
const oursAa = await timed('AutoAttack-lite', (x, y, s, m) => {
  const r = autoAttackBatch(model, x, y, { ...aaLite, seed: 0, ids: ids(s, m) });
  return { adversarial: r.adversarial, fooled: Uint8Array.from(r.robust, (v) => 1 - v) };
});
const oursSquare = await timed(`L2-Square-${squareQueries}`, (x, y, s, m) =>
  squareBatch(model, x, y, { norm: 'l2', eps, queries: squareQueries, pInit: 0.8, rngs: imageRngs(0, 'bench-square', ids(s, m)) }),
);

// The reference, same images, weights, grid order and labels.
interface RefResult {
  torch: string;
  threads: number;
  logitsMaxAbsDiff: number;
  labelAgreement: number;
  warpMaxAbsDiff: number;
  grid: { seconds: number; robust: number; evaluations: number };
  gridFull: { seconds: number; robust: number; evaluations: number };
  pgd: { seconds: number; robust: number };
}
let ref: RefResult | null = null;
if (!args['no-reference']) {
  if (eps !== 0.5) throw new Error('the PyTorch reference attacks at eps 0.5 only: pass --no-reference with --eps');
  const dir = mkdtempSync(join(tmpdir(), 'rf-bench-attacks-'));
  try {
    let offset = 0;
    const manifest = weights.map((w) => {
      const e = { name: w.name, shape: w.shape, offset };
      offset += w.data.length;
      return e;
    });
    const flat = new Float32Array(offset);
    weights.forEach((w, k) => flat.set(w.data, manifest[k]!.offset));
    writeFileSync(join(dir, 'weights.bin'), flat);
    writeFileSync(join(dir, 'images.bin'), data);
    writeFileSync(join(dir, 'labels.bin'), labels);
    const probe = tf.tidy(() => model.logits(tf.tensor4d(data.subarray(0, 8 * S), [8, H, W, C]), 'eval').dataSync() as Float32Array);
    writeFileSync(join(dir, 'logits8.bin'), probe);
    const warpProbe = ordered.slice(0, 3);
    writeFileSync(
      join(dir, 'warp3.bin'),
      new Float32Array(warpProbe.flatMap((m) => [...warpBatch(data.subarray(0, 2 * S), { n: 2, height: H, width: W, channels: C }, m)])),
    );
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        width,
        manifest,
        n,
        gridImages,
        gridFullImages,
        pgdImages,
        pgdSteps,
        batch,
        pgdBatch: pgdBatchSize,
        pointsPerRound: 32,
        motions: ordered,
        warpProbe,
        threads: torchThreads,
      }),
    );
    const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'reference', 'attacks.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`PyTorch reference failed (${r.status}): ${r.stderr}`);
    ref = JSON.parse(r.stdout.trim().split('\n').pop()!) as RefResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rate = (count: number, seconds: number) => count / seconds;
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(
  `attacks benchmark (L2 eps ${eps}): ResNet-18-like width ${width} (${(weights.reduce((a, w) => a + w.data.length, 0) / 1e6).toFixed(2)} M params), 32x32x3, ${classesSeen} classes predicted`,
);
console.log(`ours: tfjs ${tf.version.tfjs} backend '${backend}'; reference: ${ref ? `PyTorch ${ref.torch}, ${ref.threads} thread(s), CPU` : 'skipped'}`);
if (ref) {
  console.log(
    `same model: max |logit difference| ${ref.logitsMaxAbsDiff.toExponential(2)}, clean-label agreement ${(ref.labelAgreement * 100).toFixed(1)} %; same warp: max |pixel difference| ${ref.warpMaxAbsDiff.toExponential(2)}`,
  );
}
const rows: string[][] = [['task', 'images', 'ours img/s', 'torch img/s', 'ours/torch', 'ours robust', 'torch robust', 'ours evals', 'torch evals']];
rows.push([
  'grid775',
  `${gridImages}`,
  fmt(rate(gridImages, oursGrid.seconds)),
  ref ? fmt(rate(gridImages, ref.grid.seconds)) : '-',
  ref ? (ref.grid.seconds / oursGrid.seconds).toFixed(3) : '-',
  `${oursGrid.robust}`,
  ref ? `${ref.grid.robust}` : '-',
  `${oursGrid.evaluations}`,
  ref ? `${ref.grid.evaluations}` : '-',
]);
rows.push([
  'grid775 exhaustive',
  `${gridFullImages}`,
  fmt(rate(gridFullImages, oursFull.seconds)),
  ref ? fmt(rate(gridFullImages, ref.gridFull.seconds)) : '-',
  ref ? (ref.gridFull.seconds / oursFull.seconds).toFixed(3) : '-',
  `${oursFull.robust}`,
  ref ? `${ref.gridFull.robust}` : '-',
  `${oursFull.evaluations}`,
  ref ? `${ref.gridFull.evaluations}` : '-',
]);
rows.push([
  `L2-PGD-${pgdSteps}`,
  `${pgdImages}`,
  fmt(rate(pgdImages, oursPgd.seconds)),
  ref ? fmt(rate(pgdImages, ref.pgd.seconds)) : '-',
  ref ? (ref.pgd.seconds / oursPgd.seconds).toFixed(3) : '-',
  `${oursPgd.robust}`,
  ref ? `${ref.pgd.robust}` : '-',
  '',
  '',
]);
for (const [name, r, evals] of [
  [`L2-APGD-CE-${pgdSteps}`, oursApgd, ''],
  [`L2-APGD-CE-${pgdSteps} (to the end)`, oursApgdFull, ''],
  [`L2-FAB-T-${pgdSteps} (1 target)`, oursFab, ''],
  [`L2-Square-${squareQueries}`, oursSquare, `${oursSquare.queries}`],
  ['AutoAttack-lite', oursAa, ''],
] as const) {
  rows.push([name, `${pgdImages}`, fmt(rate(pgdImages, r.seconds)), '-', '-', `${r.robust}`, '-', evals, '-']);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c]!)).join('  '));
const perImage = (seconds: number) => `${((seconds / pgdImages) * 1000).toFixed(1)} ms/image`;
console.log(
  `cost per image (ours, same run): L2-PGD-${pgdSteps} ${perImage(oursPgd.seconds)}; L2-APGD-CE-${pgdSteps} ${perImage(oursApgd.seconds)} (${(oursApgd.seconds / oursPgd.seconds).toFixed(2)}x PGD); ` +
    `L2-APGD-CE-${pgdSteps} walking every image to the end ${perImage(oursApgdFull.seconds)} (${(oursApgdFull.seconds / oursPgd.seconds).toFixed(2)}x PGD); ` +
    `L2-FAB-T-${pgdSteps} (1 target) ${perImage(oursFab.seconds)} (${(oursFab.seconds / oursPgd.seconds).toFixed(2)}x PGD); ` +
    `L2-Square-${squareQueries} ${perImage(oursSquare.seconds)} (${(oursSquare.seconds / oursPgd.seconds).toFixed(2)}x PGD; ${(oursSquare.queries / pgdImages).toFixed(0)} queries/image used, stopping at success); ` +
    `AutoAttack-lite [${describeAttack(aaLite)}] ${perImage(oursAa.seconds)} (${(oursAa.seconds / oursPgd.seconds).toFixed(2)}x PGD)`,
);
model.dispose();
