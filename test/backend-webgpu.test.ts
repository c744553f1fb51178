// The webgpu backend (tfjs-backend-webgpu on Dawn over Vulkan) against a CPU reference: logits and
// parameter gradients of every architecture, an SGD step, a PGD step and a grid evaluation, no
// tensor or GPU-buffer growth across training steps, and the same bits when a computation is run
// again. Runs on whatever adapter Dawn offers; in CI that is Mesa's llvmpipe (a CPU rasteriser,
// mesa-vulkan-drivers from bookworm-backports, which .ci/run installs), so this tests the code
// path and its numbers, not a GPU's speed. Without an adapter every test skips, saying why.
//
// The reference is the native backend where it is built (itself held to tfjs' cpu backend by the
// backend-native tests), else tfjs' cpu backend: both sum in float32 in their own orders, and
// native computes the reference side in a fraction of the cpu backend's time.
//
// Tolerances. Both sides compute in float32, in different orders: the cpu backend sums a
// convolution's 9*C products in one running sum, oneDNN and WebGPU's tiled shaders in blocked or
// per-tile partial sums. Each reordered sum of k terms may differ by about k * 2^-24 relative; through a network's ~20
// layers (train-mode batch norm divides by a batch standard deviation, which can amplify) that
// stays below 1e-5 of the logits' scale, and the measured worst case on llvmpipe was 3e-6. So:
// - logits: 2e-5 x max(1, max |logit|);
// - a parameter's gradient: 1e-4 x max |that gradient| + 1e-5 x max |any gradient of the model|.
//   The second term is for parameters whose exact gradient is zero (a bias right before a
//   train-mode batch norm): both backends return rounding noise there (measured 6e-8 on VGG-16's
//   features.40.bias, whose own scale is 2e-8), and the model's scale bounds that noise.
// - PGD's L2 step moves by step * g / |g|: 1e-5 absolute on images in [0, 1], loss 2e-5.
// - the grid evaluation's labels must agree exactly: the model's top-2 margins on the unmoved
//   images are checked to be far above the logits' difference (the warped images' are not
//   checked; the runs are deterministic, so a near-tie would fail every run, not some).
import { nativeSkip, serviceSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { memoSafeBackend } from '../ml/attacks/prediction-memo.ts';
import { assertClose, sameBits } from './backend-compare.ts';
import { fittedValues, forwardBackward, gridEvaluation, pgdStep, sgdSteps, PARITY_CONFIGS, type ForwardBackward } from './helpers/webgpu-parity.ts';

const { probeWebgpuAdapter, describeAdapter } = await import('../ml/backend/webgpu.ts');
const probe = await probeWebgpuAdapter();
const skip = serviceSkip('vulkan', probe.adapter === undefined ? `no WebGPU adapter: ${probe.reason ?? '?'}` : undefined);
const reference = nativeSkip() === false ? 'native' : 'cpu';
if (!skip) {
  console.log(`# webgpu on ${describeAdapter(probe.adapter!)}, against ${reference}`);
  if (reference === 'native') await initBackend('native', { log: () => {}, threads: 1 });
  await initBackend('webgpu', { log: () => {} });
}

async function on<T>(backend: string, fn: () => Promise<T>): Promise<T> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  return fn();
}

function gradientsClose(got: ForwardBackward, want: ForwardBackward, what: string): void {
  assert.equal(got.grads.length, want.grads.length);
  let modelScale = 0;
  for (const g of want.grads) for (const v of g.values) modelScale = Math.max(modelScale, Math.abs(v));
  got.grads.forEach((g, i) => {
    const w = want.grads[i]!;
    assert.equal(g.name, w.name);
    let diff = 0;
    let scale = 0;
    g.values.forEach((v, k) => {
      diff = Math.max(diff, Math.abs(v - w.values[k]!));
      scale = Math.max(scale, Math.abs(w.values[k]!));
    });
    const tol = 1e-4 * scale + 1e-5 * modelScale;
    assert.ok(diff <= tol, `${what} ${g.name}: max |diff| ${diff.toExponential(3)} > ${tol.toExponential(3)} (its scale ${scale.toExponential(3)})`);
  });
}

for (const config of PARITY_CONFIGS) {
  test(
    `webgpu = ${reference} within tolerance: ${config.arch} (width ${config.width}) logits (eval, train) and every parameter's gradient`,
    { skip },
    async () => {
      const want = await on(reference, () => forwardBackward(config));
      const got = await on('webgpu', () => forwardBackward(config));
      assertClose(got.evalLogits, want.evalLogits, 2e-5, `${config.arch} eval logits`);
      assertClose(got.trainLogits, want.trainLogits, 2e-5, `${config.arch} train logits`);
      gradientsClose(got, want, config.arch);
    },
  );
}

test(`webgpu = ${reference} within tolerance: one SGD step (momentum, weight decay) of ResNet-18`, { skip }, async () => {
  const want = await on(reference, () => sgdSteps(1));
  const got = await on('webgpu', () => sgdSteps(1));
  assert.ok(Math.abs(got.losses[0]! - want.losses[0]!) <= 2e-5 * Math.max(1, Math.abs(want.losses[0]!)), `loss ${got.losses[0]} vs ${want.losses[0]}`);
  // w - lr (g + wd w) with lr 0.1: the gradients' tolerance, times lr, on weights of scale <= 1.
  got.weights.forEach((w, i) => assertClose(w, want.weights[i]!, 2e-5, `weight ${i} after the step`));
});

test(`webgpu = ${reference} within tolerance: one L2-PGD step`, { skip }, async () => {
  const want = await on(reference, pgdStep);
  const got = await on('webgpu', pgdStep);
  assertClose(got.adversarial, want.adversarial, 1e-5, 'adversarial images');
  assertClose(got.loss, want.loss, 2e-5, 'per-example loss');
});

test(`webgpu = ${reference}: an exhaustive rot10 grid evaluation gives every (image, rotation) pair the same label`, { skip }, async () => {
  const values = await on(reference, fittedValues);
  const want = await on(reference, () => gridEvaluation(values));
  const got = await on('webgpu', () => gridEvaluation(values));
  assertClose(got.logits, want.logits, 2e-5, 'logits of the unmoved images');
  // The labels the attack starts from are the argmax of these logits: a near-tie would be luck.
  for (let i = 0; i < want.logits.length / 10; i++) {
    const row = [...want.logits.subarray(i * 10, i * 10 + 10)].sort((a, b) => b - a);
    assert.ok(row[0]! - row[1]! > 1e-3, `image ${i}: top-2 margin ${row[0]! - row[1]!} is a near-tie`);
  }
  assert.ok(!want.labels.includes(-1), 'the exhaustive attack labelled every (image, rotation) pair');
  assert.ok(new Set(want.labels).size > 2, `the labels vary (else the comparison is weak): ${[...new Set(want.labels)]}`);
  assert.deepEqual([...got.labels], [...want.labels], 'the label of every (image, rotation) pair');
  assert.deepEqual([...got.robust], [...want.robust]);
  assert.deepEqual([...got.foolingPoint], [...want.foolingPoint]);
});

test('webgpu: no tensor, data-buffer or GPU-memory growth across training steps', { skip }, async () => {
  const seen: Array<Record<string, number>> = [];
  await on('webgpu', () =>
    sgdSteps(4, () => {
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
      seen.push({
        tensors: m.numTensors,
        buffers: m.numDataBuffers,
        bytes: m.numBytes,
        gpuBytes: m.numBytesInGPU ?? -1,
        gpuAllocated: m.numBytesAllocatedInGPU ?? -1,
      });
    }),
  );
  assert.ok((seen[0]?.gpuBytes ?? 0) > 0, `tf.memory() reports GPU bytes on webgpu: ${JSON.stringify(seen[0])}`);
  // The first step allocates the momentum buffers' first values and fills the buffer pool.
  for (const s of seen.slice(2)) assert.deepEqual(s, seen[1]!, `memory after each step: ${JSON.stringify(seen)}`);
});

test('webgpu: the same bits when the same training steps are run again', { skip }, async () => {
  const a = await on('webgpu', () => sgdSteps(2));
  const b = await on('webgpu', () => sgdSteps(2));
  assert.deepEqual(b.losses, a.losses);
  a.weights.forEach((w, i) => sameBits(b.weights[i]!, w, `weight ${i}`));
});

test("webgpu: the prediction memo is off (an image's logits depend on its batch there: backend-batch-invariance prints how many)", () => {
  assert.equal(memoSafeBackend('webgpu'), false);
});

test("auto's adapter judgement: only a discrete GPU is taken unasked (adapter infos as Dawn reports them)", async () => {
  const { adapterKind } = await import('../ml/backend/webgpu.ts');
  const info = (vendor: string, architecture: string, device: string, description: string, isFallbackAdapter = false) => ({
    vendor,
    architecture,
    device,
    description,
    isFallbackAdapter,
  });
  // What Dawn reported here for Mesa 25's llvmpipe.
  assert.equal(
    adapterKind(info('mesa', 'software', 'llvmpipe-llvm-15-0-6-256-bits-', 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', true)),
    'software',
  );
  assert.equal(adapterKind(info('mesa', '', 'llvmpipe', 'llvmpipe', false)), 'software');
  assert.equal(adapterKind(info('google', 'swiftshader', 'swiftshader', 'SwiftShader Device', false)), 'software');
  assert.equal(adapterKind(info('nvidia', 'hopper', '', 'NVIDIA: 550.54.15 550.54.15.0')), 'discrete');
  assert.equal(adapterKind(info('nvidia', 'ampere', '', 'NVIDIA Tegra Orin (nvgpu)')), 'integrated');
  assert.equal(adapterKind(info('amd', 'rdna-3', '', 'AMD Radeon RX 7900 XTX (RADV NAVI31)')), 'discrete');
  assert.equal(adapterKind(info('amd', 'rdna-2', '', 'AMD Radeon Graphics (RADV REMBRANDT)')), 'integrated');
  assert.equal(adapterKind(info('intel', 'gen-12lp', '', 'Intel(R) UHD Graphics 770 (ADL-S GT1)')), 'integrated');
  assert.equal(adapterKind(info('intel', 'xe-hpg', '', 'Intel(R) Arc(tm) A770 Graphics (DG2)')), 'discrete');
});

test('a job given a GPU by Slurm is recognised (so a CPU fall-back says so)', async () => {
  const { gpusGivenToJob } = await import('../ml/backend/webgpu.ts');
  assert.equal(gpusGivenToJob({ SLURM_JOB_GPUS: '0' }), 'SLURM_JOB_GPUS=0');
  assert.equal(gpusGivenToJob({ CUDA_VISIBLE_DEVICES: '' }), undefined);
  assert.equal(gpusGivenToJob({}), undefined);
});
