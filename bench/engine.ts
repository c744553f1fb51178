/**
 * npm run bench:engine [-- --backend auto|native|wasm|cpu] [--configs r18w16,r18w64,r50b32,r50b128]
 *                        [--seconds 10] [--threads N] [--no-torch] [--memory-only]
 *
 * Train and input-gradient throughput (images/s) of CIFAR ResNets on our best backend, beside
 * the same architecture in PyTorch (bench/reference/resnet_bench.py) run in the same invocation,
 * interleaved per configuration so both see the same machine load. Each figure is also given in
 * achieved GFLOP/s and as a percentage of the machine's peak measured in the same run (oneDNN's
 * own sgemm and a large convolution on the same threads, bench/engine-peak.ts; measured before
 * and after the configurations, the higher counts). Also the peak tensor memory of one ResNet-50
 * train step at batch 128.
 */
import { timed } from './timed.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../ml/backend/index.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';
import { measurePeak, type Peak } from './engine-peak.ts';
import { BenchResNet, inputGradient, trainStep, type Depth } from './engine-resnet.ts';
import { Rng } from '../ml/random.ts';

interface Config {
  readonly key: string;
  readonly depth: Depth;
  readonly width: number;
  readonly batch: number;
}

const CONFIGS: readonly Config[] = [
  { key: 'r18w16', depth: 18, width: 16, batch: 32 },
  { key: 'r18w64', depth: 18, width: 64, batch: 32 },
  { key: 'r50b32', depth: 50, width: 64, batch: 32 },
  { key: 'r50b128', depth: 50, width: 64, batch: 128 },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = Number(arg('seconds') ?? 10);
const minSteps = 3;
const threads = arg('threads') === undefined ? undefined : Number(arg('threads'));
const wanted = (arg('configs') ?? CONFIGS.map((c) => c.key).join(',')).split(',');
const configs = wanted.map((k) => {
  const c = CONFIGS.find((x) => x.key === k);
  if (c === undefined) throw new Error(`--configs: unknown '${k}'; known: ${CONFIGS.map((x) => x.key).join(', ')}`);
  return c;
});
const python = process.env.RF_PYTHON ?? '/usr/bin/python3';
const reference = fileURLToPath(new URL('./reference/resnet_bench.py', import.meta.url));

function batchOf(c: Config): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(7);
  const x = tf.tensor4d(rng.fillUniform(new Float32Array(c.batch * 32 * 32 * 3), 0, 1), [c.batch, 32, 32, 3]);
  const y = tf.tensor1d(
    Array.from({ length: c.batch }, () => rng.int(10)),
    'int32',
  );
  return { x, y };
}

async function ours(c: Config): Promise<{ train: number; grad: number; forwardFlops: number }> {
  const model = new BenchResNet({ depth: c.depth, width: c.width });
  const forwardFlops = model.forwardFlopsPerImage();
  const opt = tf.train.momentum(0.01, 0.9);
  const { x, y } = batchOf(c);
  const train = await timed(
    async () => {
      trainStep(model, opt, x, y);
      await model.variables[0]!.data();
    },
    c.batch,
    { seconds, minSteps, warmup: 2 },
  );
  const grad = await timed(
    async () => {
      const g = inputGradient(model, x, y);
      await g.data();
      g.dispose();
    },
    c.batch,
    { seconds, minSteps, warmup: 2 },
  );
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  return { train: train.perS, grad: grad.perS, forwardFlops };
}

interface TorchLine {
  what: 'train' | 'input-grad';
  img_per_s: number;
  torch: string;
  threads: number;
  max_rss_mib: number;
}

function torch(c: Config, nThreads: number): { train: number; grad: number; version: string; trainRssMiB: number } | string {
  const r = spawnSync(
    python,
    [
      reference,
      '--depth',
      String(c.depth),
      '--width',
      String(c.width),
      '--batch',
      String(c.batch),
      '--threads',
      String(nThreads),
      '--seconds',
      String(seconds),
      '--min-steps',
      String(minSteps),
    ],
    { encoding: 'utf8' },
  );
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
    return /No module named 'torch'|ENOENT/.test(why)
      ? `PyTorch not available (${why}); install python3-torch for the reference`
      : `PyTorch reference failed: ${why}`;
  }
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TorchLine);
  const get = (w: string) => lines.find((l) => l.what === w)!;
  return {
    train: get('train').img_per_s,
    grad: get('input-grad').img_per_s,
    version: `${get('train').torch}, ${get('train').threads} threads`,
    trainRssMiB: get('train').max_rss_mib,
  };
}

async function peakTrainMemory(c: Config): Promise<{ peakMiB: number; rssMiB: number }> {
  const model = new BenchResNet({ depth: c.depth, width: c.width });
  const opt = tf.train.momentum(0.01, 0.9);
  const { x, y } = batchOf(c);
  trainStep(model, opt, x, y); // momentum slots exist from here on, as in a real run
  // peakBytes is the engine's total at its highest point (weights, momentum and batch included).
  const info = await tf.profile(() => trainStep(model, opt, x, y));
  const peakMiB = info.peakBytes / 2 ** 20;
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  return { peakMiB, rssMiB: process.resourceUsage().maxRSS / 1024 };
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function main(): Promise<void> {
  const choice = parseBackendChoice(arg('backend') ?? 'auto', '--backend');
  const info: BackendInfo = await initBackend(choice, threads === undefined ? {} : { threads });
  const memoryOnly = process.argv.includes('--memory-only');
  // The peak on the same threads as the configurations (the addon's thread count is the backend's
  // when it is native; set explicitly otherwise).
  const addon = loadNativeAddon();
  if (addon !== undefined && info.name !== 'native') addon.setNumThreads(info.threads);
  const peakSeconds = Math.min(3, seconds);
  const peaks: Peak[] = addon !== undefined && !memoryOnly ? [measurePeak(addon, peakSeconds)] : [];
  const results: Array<{ c: Config; o: Awaited<ReturnType<typeof ours>>; t: ReturnType<typeof torch> }> = [];
  for (const c of memoryOnly ? [] : configs) {
    const o = await ours(c);
    const t = process.argv.includes('--no-torch') ? 'skipped (--no-torch)' : torch(c, info.threads);
    const name = `ResNet-${c.depth} w${c.width} b${c.batch}`;
    console.log(
      typeof t === 'string'
        ? `${name}: ours train ${fmt(o.train)} img/s, input-grad ${fmt(o.grad)} img/s; ${t}`
        : `${name}: train ${fmt(o.train)} vs ${fmt(t.train)} img/s, input-grad ${fmt(o.grad)} vs ${fmt(t.grad)} img/s`,
    );
    results.push({ c, o, t });
  }
  // Again afterwards: on a shared machine the load may have changed; the higher figure is the limit.
  if (peaks.length > 0 && results.length > 0) peaks.push(measurePeak(addon!, peakSeconds));
  const peak = peaks.reduce<Peak | undefined>((a, p) => (a === undefined || p.gflops > a.gflops ? p : a), undefined);
  const pct = (gflops: number) => (peak === undefined ? '–' : `${((100 * gflops) / peak.gflops).toFixed(0)} %`);
  let torchVersion = '';
  let torchBigRss: number | undefined;
  const rows = results.map(({ c, o, t }) => {
    const name = `ResNet-${c.depth} w${c.width} b${c.batch}`;
    const trainG = (3 * o.forwardFlops * o.train) / 1e9;
    const gradG = (2 * o.forwardFlops * o.grad) / 1e9;
    const flops = `${trainG.toFixed(1)} | ${pct(trainG)} | ${gradG.toFixed(1)} | ${pct(gradG)}`;
    if (typeof t === 'string') return `| ${name} | ${fmt(o.train)} | – | – | ${fmt(o.grad)} | – | – | ${flops} |`;
    torchVersion = t.version;
    if (c.key === 'r50b128') torchBigRss = t.trainRssMiB;
    return `| ${name} | ${fmt(o.train)} | ${fmt(t.train)} | ${(o.train / t.train).toFixed(2)} | ${fmt(o.grad)} | ${fmt(t.grad)} | ${(o.grad / t.grad).toFixed(2)} | ${flops} |`;
  });
  console.log(
    `\nbackend: ${info.name} [${info.version}], ${info.threads} thread(s); PyTorch ${torchVersion || 'not run'}; ${seconds} s per figure, median step`,
  );
  console.log(
    peak === undefined
      ? 'peak: not measured (the native addon is not built: npm run build:native)'
      : `peak: ${peak.gflops.toFixed(1)} GFLOP/s on ${info.threads} thread(s), the best of ${peaks.map((p) => p.what).join('; then ')}`,
  );
  console.log('GFLOP/s: convolutions and classifier only, train = 3x and input-grad = 2x the forward multiply-adds x 2\n');
  console.log(
    '| model | train ours | train torch | ratio | input-grad ours | input-grad torch | ratio | train GFLOP/s | % of peak | input-grad GFLOP/s | % of peak |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  const big = configs.find((c) => c.key === 'r50b128');
  if (big !== undefined) {
    const m = await peakTrainMemory(big);
    const torchRss = torchBigRss === undefined ? '' : `; PyTorch's max RSS after its train steps: ${torchBigRss.toFixed(0)} MiB`;
    console.log(
      `\nResNet-50 b128 train step: peak tensor memory ${m.peakMiB.toFixed(0)} MiB (tf.profile), process max RSS ${m.rssMiB.toFixed(0)} MiB${torchRss}`,
    );
  }
}

await main();
