// The fused eval-mode batch norm + add + ReLU (ml/backend/batch-norm-eval.ts, native/src/bn_eval.cc)
// and the fused input normalisation (ml/backend/clip-normalize.ts) against the composed routes they
// replace (tf.batchNorm, add, relu; clipByValue, sub, div on the same backend), bit for bit: each
// op alone (values and gradients, NaN and -0 included), and whole models of every family: in
// 'eval' mode logits, input gradients (what PGD and D_R construction take) and the features with
// the identity-gradient final ReLU; in 'train' mode every weight's and the input's gradient.
import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BN_EVAL_RELU_KERNEL, batchNormRelu, composedBatchNormRelu, setBatchNormEvalFusion } from '../ml/backend/batch-norm-eval.ts';
import { CLIP_NORMALIZE_KERNEL, clipNormalize, composedClipNormalize, setClipNormalizeFusion } from '../ml/backend/clip-normalize.ts';
import { initBackend } from '../ml/backend/index.ts';
import { createModel } from '../ml/models/registry.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import type { Model } from '../ml/models/model.ts';
import { Rng } from '../ml/random.ts';
import { randomArray, runOn, sameBits } from './backend-compare.ts';

const skip = nativeSkip();

/** Which of the two routes' kernels `fn` runs (tf.profile); frees what it returns. */
async function kernelsOf(fn: () => tf.Tensor[]): Promise<Set<string>> {
  const info = await tf.profile(() => tf.tidy(() => fn()));
  tf.dispose(info.result as tf.Tensor[]);
  return new Set(info.kernels.map((k) => k.name).filter((n) => n === BN_EVAL_RELU_KERNEL || n === 'FusedBatchNorm'));
}

/** Runs fn with both fused kernels on or off (restored afterwards). */
function withFusion<T>(on: boolean, fn: () => T): T {
  const was = [setBatchNormEvalFusion(on), setClipNormalizeFusion(on)] as const;
  try {
    return fn();
  } finally {
    setBatchNormEvalFusion(was[0]);
    setClipNormalizeFusion(was[1]);
  }
}

test('fused input normalisation equals clipByValue, sub, div bit for bit, values and gradients (NaN, -0)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const shape: [number, number, number, number] = [4, 11, 9, 3];
  const x = randomArray(21, shape, -0.5, 1.5);
  [NaN, -0, 0, 1, Infinity, -Infinity].forEach((v, k) => (x[k * 5] = v));
  const mean = Float32Array.from([0.4914, 0.4822, 0.4465]);
  const std = Float32Array.from([0.2023, 0.1994, 0.201]);
  const weights = randomArray(22, shape);
  const route = (op: typeof clipNormalize) => () => {
    const args = [tf.tensor4d(x, shape), tf.tensor1d(mean), tf.tensor1d(std)];
    const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(tf.tensor4d(weights, shape), op(t[0] as tf.Tensor4D, 0, 1, t[1] as tf.Tensor1D, t[2] as tf.Tensor1D)));
    return [op(args[0] as tf.Tensor4D, 0, 1, args[1] as tf.Tensor1D, args[2] as tf.Tensor1D), ...tf.grads(f)(args)];
  };
  const fused = await runOn('native', route(clipNormalize));
  const composed = await runOn('native', route(composedClipNormalize));
  fused.forEach((v, i) => sameBits(v, composed[i]!, `output ${i}`));
  const info = await tf.profile(() => tf.tidy(() => clipNormalize(tf.tensor4d(x, shape), 0, 1, tf.tensor1d(mean), tf.tensor1d(std))));
  tf.dispose(info.result as tf.Tensor);
  assert.ok(info.kernels.some((k) => k.name === CLIP_NORMALIZE_KERNEL) && !info.kernels.some((k) => k.name === 'ClipByValue'));
  assert.ok(fused[0]!.some(Number.isNaN) && fused[1]!.some((v) => v === 0) && fused[1]!.some((v) => v !== 0));
});

test('fused BN + ReLU equals tf.batchNorm, add, relu bit for bit, values and gradients (NaN, -0)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const shape: [number, number, number, number] = [3, 9, 8, 24];
  const c = shape[3];
  const x = randomArray(1, shape, -3, 3);
  const skipValues = randomArray(2, shape, -2, 2);
  x[5] = NaN;
  x[6] = -0;
  skipValues[7] = NaN;
  skipValues[8] = -0;
  const mean = randomArray(3, [c]);
  const variance = randomArray(4, [c], 0.1, 2);
  const offset = randomArray(5, [c]);
  const scale = randomArray(6, [c], -1.5, 1.5);
  scale[0] = 0;
  const weights = randomArray(7, shape);
  for (const withSkip of [false, true]) {
    const route = (op: typeof batchNormRelu) => () => {
      const args = [tf.tensor4d(x, shape), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(offset), tf.tensor1d(scale), tf.tensor4d(skipValues, shape)];
      const apply = (t: readonly tf.Tensor[]) =>
        op(
          t[0] as tf.Tensor4D,
          t[1] as tf.Tensor1D,
          t[2] as tf.Tensor1D,
          t[3] as tf.Tensor1D,
          t[4] as tf.Tensor1D,
          1e-5,
          withSkip ? (t[5] as tf.Tensor4D) : undefined,
        );
      const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(tf.tensor4d(weights, shape), apply(t)));
      const y = apply(args);
      return [y, ...tf.grads(f)(withSkip ? args : args.slice(0, 5))];
    };
    const fused = await runOn('native', route(batchNormRelu));
    const composed = await runOn('native', route(composedBatchNormRelu));
    assert.deepEqual(await kernelsOf(route(batchNormRelu)), new Set([BN_EVAL_RELU_KERNEL]));
    assert.equal(fused.length, composed.length);
    fused.forEach((v, i) => sameBits(v, composed[i]!, `${withSkip ? 'with' : 'without'} skip, output ${i}`));
    assert.ok(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v > 0) && fused[0]!.some(Number.isNaN));
  }
});

/** Every variable set to random values (running variances positive), so batch norm does something. */
function randomise(model: Model, seed: number): void {
  const rng = new Rng(seed);
  for (const { name, variable } of model.namedVariables) {
    // Positive variances; mostly positive biases keep deep stacks (VGG-16) from dying out.
    const [lo, hi] = name.endsWith('running_var') ? [0.2, 2] : name.endsWith('.bias') ? [-0.2, 1] : [-1, 1];
    const values = rng.fillUniform(new Float32Array(variable.size), lo, hi);
    if (name.endsWith('.weight') && variable.rank > 1) values.forEach((v, i) => (values[i] = v * 0.5));
    variable.assign(tf.tensor(values, variable.shape));
  }
}

const families: ModelConfigInput[] = [
  // Two blocks in stage 1: an identity shortcut; stages 2-4: convolution shortcuts.
  { arch: 'resnet18', width: 1 / 16, numClasses: 5, inputSize: 8, blocks: [2, 1, 1, 1] },
  { arch: 'resnet50', width: 1 / 16, numClasses: 5, inputSize: 8, blocks: [2, 1, 1, 1] },
  { arch: 'vgg16', width: 1 / 32, numClasses: 5, inputSize: 32 },
  { arch: 'gresnet18', width: 1 / 8, numClasses: 5, inputSize: 8, blocks: [2, 1, 1, 1] },
  { arch: 'stn-resnet18', width: 1 / 16, numClasses: 5, inputSize: 12, blocks: [1, 1, 1, 1], loc: { channels: [2, 3], kernels: [3, 3], hidden: 4 } },
  { arch: 'ptn-resnet18', width: 1 / 16, numClasses: 5, inputSize: 8, blocks: [1, 1, 1, 1], originChannels: 3 },
];

for (const config of families) {
  test(
    `${config.arch}: eval logits, input gradients, pass-through features and train-mode gradients are the same bits fused and composed`,
    { skip },
    async () => {
      await initBackend('native', { log: () => {} });
      const model = createModel(config, 11);
      randomise(model, 12);
      const s = config.inputSize;
      const x = new Rng(13).fillUniform(new Float32Array(6 * s * s * 3), -0.1, 1.1);
      const weights = randomArray(14, [6, 5]);
      const run = () => {
        const input = tf.tensor4d(x, [6, s, s, 3]);
        const logits = model.logits(input, 'eval');
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tensor2d(weights, [6, 5]), model.logits(t as tf.Tensor4D, 'eval'))))(input);
        const feats = model.features(input, { reluPassThrough: true });
        const featGrad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(model.features(t as tf.Tensor4D, { reluPassThrough: true }))))(input);
        return [logits, grad, feats, featGrad];
      };
      // Train mode: the fused normalisation is on the tape; every weight's gradient and the input's.
      const train = () => {
        const input = tf.tensor4d(x, [6, s, s, 3]);
        const vars = model.trainableVariables as tf.Variable[];
        const loss = () => tf.sum(tf.mul(tf.tensor2d(weights, [6, 5]), model.logits(input, 'train'))) as tf.Scalar;
        const { grads } = tf.variableGrads(loss, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tensor2d(weights, [6, 5]), model.logits(t as tf.Tensor4D, 'train'))))(input);
        return [...vars.map((v) => grads[v.name]!), dx];
      };
      const fused = await runOn('native', () => withFusion(true, run));
      const composed = await runOn('native', () => withFusion(false, run));
      ['logits', 'd logits / dx', 'features', 'd features / dx'].forEach((what, i) => sameBits(fused[i]!, composed[i]!, `${config.arch} ${what}`));
      const fusedTrain = await runOn('native', () => withFusion(true, train));
      const composedTrain = await runOn('native', () => withFusion(false, train));
      fusedTrain.forEach((g, i) => sameBits(g, composedTrain[i]!, `${config.arch} train-mode gradient ${i}`));
      // Not vacuous: the fused kernel ran in the first route only.
      assert.ok((await kernelsOf(() => withFusion(true, run))).has(BN_EVAL_RELU_KERNEL));
      assert.ok(!(await kernelsOf(() => withFusion(false, run))).has(BN_EVAL_RELU_KERNEL));
      assert.ok(
        fused[1]!.some((v) => v !== 0),
        'the input gradient is not all zero',
      );
      model.dispose();
    },
  );
}
