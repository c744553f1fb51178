// For backend-batch-invariance.test.ts: a random model per demo architecture forwards
// RF_INVARIANCE_IMAGES images (20 unless set; at least 10, so that every chunk size leaves a
// partial last chunk) as one batch and in chunks of 1, 3, 7 and 9; prints per architecture how
// many logits differ.
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { nativeKernelIsa } from '../../ml/backend/native/addon.ts';
import { createModel } from '../../ml/models/registry.ts';
import type { ModelConfigInput } from '../../ml/models/config.ts';
import { Rng } from '../../ml/random.ts';

// The first line names the backend (and native's kernel ISA) that ran, so a test cannot pass on another one.
const backend = (await initBackendFromEnv(() => {})).name;
console.log(`backend ${backend}${backend === 'native' ? ` kernels ${nativeKernelIsa() ?? 'unknown'}` : ''}`);
const demo = { numClasses: 10, inputSize: 32, blocks: [1, 1, 1, 1] };
const configs = [
  { arch: 'resnet18', width: 0.125, ...demo },
  { arch: 'resnet50', width: 0.0625, ...demo },
  { arch: 'vgg16', width: 0.125, numClasses: 10, inputSize: 32 },
  { arch: 'gresnet18', width: 0.125, groupPool: true, ...demo },
  { arch: 'stn-resnet18', width: 0.125, ...demo },
  { arch: 'ptn-resnet18', width: 0.125, ...demo },
] as ModelConfigInput[];
const n = Number(process.env.RF_INVARIANCE_IMAGES ?? 20);
if (!(Number.isInteger(n) && n >= 10)) throw new Error(`RF_INVARIANCE_IMAGES must be a whole number of at least 10, got ${process.env.RF_INVARIANCE_IMAGES}`);
const stride = 32 * 32 * 3;
const images = new Rng(5).fillUniform(new Float32Array(n * stride), 0, 1);
// Read asynchronously: webgpu has no synchronous read in Node.
const forward = async (model: ReturnType<typeof createModel>, from: number, count: number): Promise<Float32Array> => {
  const t = tf.tidy(() => model.logits(tf.tensor4d(images.subarray(from * stride, (from + count) * stride), [count, 32, 32, 3]), 'eval'));
  const values = Float32Array.from(await t.data());
  t.dispose();
  return values;
};
for (const config of configs) {
  const model = createModel(config, 1);
  const whole = await forward(model, 0, n);
  let differ = 0;
  for (const chunk of [1, 3, 7, 9])
    for (let s = 0; s < n; s += chunk) {
      const part = await forward(model, s, Math.min(chunk, n - s));
      part.forEach((v, k) => (differ += Object.is(v, whole[s * 10 + k]) ? 0 : 1));
    }
  console.log(`${config.arch}: ${differ} of ${4 * n * 10} logits differ`);
  model.dispose();
}
