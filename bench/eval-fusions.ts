/**
 * Evaluation speed of a model file with the evaluation kernels (native sampler, row padding, clip
 * and input normalisation; fused eval BN + add + ReLU; reused p4m expansions) against the route
 * before them, in one process: alternating rounds over the same grid-warped batches (new, then
 * old), so the load of a shared machine hits both alike. "Old" is what ran before: the TypeScript
 * sampler and row padding (the cpu backend's loop kernels), the previous TypeScript clip loop (kept
 * below as the reference), tfjs' cpu Slice, the composed BN/add/ReLU and normalisation, and a fresh p4m expansion
 * per batch. Prints batches/s and CPU ms per batch of each, their ratio, and whether every batch's
 * logits were the same bits both ways (they must be).
 *   npx tsx bench/eval-fusions.ts <model file> <test set file> [--batch 100] [--batches 6] [--rounds 3]
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipByValueAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { benchArg } from './bench-arg.ts';
import { gridBatches } from './grid-batches.ts';
import { BILINEAR_SAMPLE_KERNEL } from '../ml/backend/bilinear-sample.ts';
import { WRAP_ROWS_KERNEL } from '../ml/backend/wrap-rows.ts';
import { setBatchNormEvalFusion } from '../ml/backend/batch-norm-eval.ts';
import { setClipNormalizeFusion } from '../ml/backend/clip-normalize.ts';
import { cpuKernel, guardSharing, type NativeBackend } from '../ml/backend/native/backend.ts';
import { setP4MExpansionCache } from '../ml/models/p4m.ts';

const args = process.argv.slice(2);
const arg = benchArg;
const [modelFile, dataFile] = args;
if (!modelFile || !dataFile) throw new Error('usage: eval-fusions.ts <model> <test set> [--batch 100] [--batches 6] [--rounds 3]');
const batch = Number(arg('batch', '100'));
const batches = Number(arg('batches', '6'));
const rounds = Number(arg('rounds', '3'));
const info = await initBackendFromEnv();
if (info.name !== 'native') {
  console.log(`backend ${info.name}: the evaluation kernels are native's, nothing to compare`);
  process.exit(0);
}

/** The clip the native backend ran before native/src/resample.cc (its TypeScript loop). */
const previousClip: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const { clipValueMin: lo, clipValueMax: hi } = attrs as unknown as ClipByValueAttrs;
  const src = b.f32(x);
  const o = b.output([...x.shape]);
  const v = o.values;
  for (let i = 0; i < src.length; i++) {
    const t = src[i]!;
    v[i] = t > hi ? hi : t < lo ? lo : t;
  }
  return o.info;
};
const kernel = (name: string, backend: string): KernelConfig => {
  const k = tf.getKernel(name, backend);
  if (k === undefined) throw new Error(`no ${name} kernel on ${backend}`);
  return k;
};
const routes = {
  new: [kernel(BILINEAR_SAMPLE_KERNEL, 'native'), kernel(WRAP_ROWS_KERNEL, 'native'), kernel('ClipByValue', 'native'), kernel('Slice', 'native')],
  old: [
    { ...kernel(BILINEAR_SAMPLE_KERNEL, 'cpu'), backendName: 'native' },
    { ...kernel(WRAP_ROWS_KERNEL, 'cpu'), backendName: 'native' },
    { kernelName: 'ClipByValue', backendName: 'native', kernelFunc: previousClip },
    { kernelName: 'Slice', backendName: 'native', kernelFunc: guardSharing(cpuKernel('Slice')) },
  ],
};
const use = (route: 'new' | 'old') => {
  for (const k of routes[route]) {
    tf.unregisterKernel(k.kernelName, 'native');
    tf.registerKernel(k);
  }
  const on = route === 'new';
  setBatchNormEvalFusion(on);
  setClipNormalizeFusion(on);
  setP4MExpansionCache(on);
};

const { model, inputs, forward } = gridBatches(modelFile, dataFile, batch, batches);

const time = { new: { wall: 0, cpu: 0 }, old: { wall: 0, cpu: 0 } };
const logits = { new: [] as Float32Array[], old: [] as Float32Array[] };
for (const route of ['new', 'old'] as const) {
  use(route); // warm-up: plans, pools, JIT
  forward(inputs[0]!);
}
for (let r = 0; r < rounds; r++) {
  for (const route of ['new', 'old'] as const) {
    use(route);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const outs = inputs.map(forward);
    const c = process.cpuUsage(c0);
    time[route].wall += performance.now() - t0;
    time[route].cpu += (c.user + c.system) / 1000;
    if (r === 0) logits[route] = outs;
  }
}
use('new');
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
const identical = logits.new.every((l, i) => {
  const o = bits(logits.old[i]!);
  return bits(l).every((v, k) => v === o[k]);
});
const n = rounds * batches;
const per = (t: { wall: number; cpu: number }) => ({ batchesPerS: Number(((1000 * n) / t.wall).toFixed(2)), cpuMsPerBatch: Number((t.cpu / n).toFixed(1)) });
console.log(
  JSON.stringify({
    model: model.config.arch,
    batch,
    new: per(time.new),
    old: per(time.old),
    speedup: Number((time.old.wall / time.new.wall).toFixed(2)),
    cpuSpeedup: Number((time.old.cpu / time.new.cpu).toFixed(2)),
    logitsBitIdentical: identical,
  }),
);
if (!identical) process.exitCode = 1;
