// Benchmark: what the `probe` stage (ml/probe/reliance.ts: natural, conflict and robust-only
// predictions on the synthetic test subset, with the images built in pixel space) costs per model,
// against a natural evaluation of the same model on the same images in the same run
// (ml/attacks/evaluate.ts, attack `none`: what `evaluate` does at the least). Fresh weights: the
// cost of a forward pass does not depend on them. The two are timed alternately, so a machine
// shared with other work slows both alike; the ratio is the figure to read.
//
//   npx tsx bench/probe-cost.ts [--images 1000] [--batch 250] [--repeats 3] [--models demo|all]
//   (backend: RF_BACKEND, as the stages; threads: RF_THREADS)
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import type { ImageSet } from '../ml/data/image-set.ts';
import { imageSize } from '../ml/data/image-set.ts';
import { generateSyntheticSplit, syntheticBank } from '../ml/data/synthetic.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { selectSubset } from '../ml/attacks/subset.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { createModel } from '../ml/models/registry.ts';
import { featureReliance } from '../ml/probe/reliance.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '250' },
    repeats: { type: 'string', default: '3' },
    models: { type: 'string', default: 'demo' },
  },
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const images = int('images', args.images);
const batchSize = int('batch', args.batch);
const repeats = int('repeats', args.repeats);
if (args.models !== 'demo' && args.models !== 'all') throw new Error(`--models must be demo or all, got ${args.models}`);

// The demo profile's probed architectures (params.yaml: q1, q2, q3 and f_A), narrow as there.
const demoModels: Record<string, ModelConfigInput> = {
  'ResNet-18 w0.125 [1,1,1,1]': { arch: 'resnet18', width: 0.125, blocks: [1, 1, 1, 1], numClasses: 10, inputSize: 32 },
  'ResNet-34 w0.125 [1,1,1,1]': { arch: 'resnet34', width: 0.125, blocks: [1, 1, 1, 1], numClasses: 10, inputSize: 32 },
  'ResNet-50 w0.0625 [1,1,1,1]': { arch: 'resnet50', width: 0.0625, blocks: [1, 1, 1, 1], numClasses: 10, inputSize: 32 },
  'VGG-16 w0.125': { arch: 'vgg16', width: 0.125, numClasses: 10, inputSize: 32 },
};
const moreModels: Record<string, ModelConfigInput> = {
  'ResNet-18 w0.25 [2,2,2,2]': { arch: 'resnet18', width: 0.25, blocks: [2, 2, 2, 2], numClasses: 10, inputSize: 32 },
};
const models = args.models === 'all' ? { ...demoModels, ...moreModels } : demoModels;

const backend = await initBackendFromEnv();
const bank = syntheticBank({ seed: 0, trainCount: 10, testCount: images });
const split = generateSyntheticSplit(bank, 'test');
const stride = 32 * 32 * 3;
const set: ImageSet = {
  count: split.labels.length,
  height: 32,
  width: 32,
  channels: 3,
  numClasses: 10,
  labels: split.labels,
  gather(indices, out) {
    const o = out ?? new Float32Array(indices.length * imageSize(this));
    for (let j = 0; j < indices.length; j++) o.set(split.pixels.subarray(indices[j]! * stride, (indices[j]! + 1) * stride), j * stride);
    return o;
  },
};
const indices = Int32Array.from(selectSubset(set.count, images, 0));
const truth = { bank, robustClass: split.robustClass };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

console.log(`probe vs natural evaluation, ${images} synthetic test images, batch ${batchSize}, median of ${repeats}; backend ${backend.name}`);
console.log('model                          natural s   probe s   probe / natural');
for (const [name, config] of Object.entries(models)) {
  const model = createModel(config, 1);
  const natural = () => evaluateAttack(model, set, { kind: 'none' }, { indices, batchSize });
  const probe = () => featureReliance(model, set, truth, { indices, seed: 0, batchSize });
  await natural(); // warm-up: kernels, the backend's buffer pool
  await probe();
  const tn: number[] = [];
  const tp: number[] = [];
  for (let r = 0; r < repeats; r++) {
    tn.push(await seconds(natural));
    tp.push(await seconds(probe));
  }
  const n = median(tn);
  const p = median(tp);
  console.log(`${name.padEnd(30)} ${n.toFixed(2).padStart(9)} ${p.toFixed(2).padStart(9)} ${(p / n).toFixed(2).padStart(17)}`);
  model.dispose();
}
if (tf.memory().numTensors > 0) console.log(`(live tensors at the end: ${tf.memory().numTensors})`);
