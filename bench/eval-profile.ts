/**
 * Where an evaluation's forward passes ('eval' mode, the grid attacks' batches) spend their time,
 * per kernel (tf.profile), on a real model file, and a digest of the logits to compare two builds
 * bit for bit:
 * npx tsx bench/eval-profile.ts <model file> <test set file> [--batch 100] [--batches 8] [--profile] [--grads]
 *
 * The batches are test images under grid775's motions (warped as the grid attack warps them), so
 * they hold the black fill and out-of-range corners the attack's inputs hold. The printed `logits`
 * digest is the SHA-256 of every batch's logits (float32 bytes, in order).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { benchArg } from './bench-arg.ts';
import { gridBatches } from './grid-batches.ts';
import { kernelTimes, printKernelTimes, printNativeFallbacks } from './kernel-times.ts';

const args = process.argv.slice(2);
const arg = benchArg;
const [modelFile, dataFile] = args;
if (!modelFile || !dataFile) throw new Error('usage: eval-profile.ts <model> <test set> [--batch 100] [--batches 8] [--profile]');
const batch = Number(arg('batch', '100'));
const batches = Number(arg('batches', '8'));
await initBackendFromEnv();
const { set, model, inputs, forward } = gridBatches(modelFile, dataFile, batch, batches);
const { height, width, channels } = set;

const hash = createHash('sha256');
for (const buf of inputs) {
  const l = forward(buf);
  hash.update(new Uint8Array(l.buffer, l.byteOffset, l.byteLength));
}
// --grads: also the digest of eval-mode input gradients (what PGD and D_R construction take) of
// the cross-entropy against the true labels, on the first two batches.
let gradDigest: string | undefined;
if (args.includes('--grads')) {
  const g = createHash('sha256');
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => set.labels[i % set.count]!),
        'int32',
      ),
      set.numClasses,
    ),
  );
  for (const buf of inputs.slice(0, 2)) {
    const d = tf.tidy(() =>
      tf.grad((t: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, model.logits(t as tf.Tensor4D, 'eval')))(
        tf.tensor4d(buf, [batch, height, width, channels]),
      ),
    );
    const v = d.dataSync() as Float32Array;
    g.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    d.dispose();
  }
  labels.dispose();
  gradDigest = g.digest('hex');
}
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (const buf of inputs) forward(buf);
const ms = (performance.now() - t0) / inputs.length;
// CPU time beside wall time: on a shared machine a one-thread run's wall time moves with the load.
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000 / inputs.length;
console.log(
  JSON.stringify({
    model: model.config.arch,
    logits: hash.digest('hex'),
    ...(gradDigest === undefined ? {} : { inputGradients: gradDigest }),
    msPerBatch: Number(ms.toFixed(1)),
    cpuMsPerBatch: Number(cpuMs.toFixed(1)),
    batchesPerS: Number((1000 / ms).toFixed(2)),
  }),
);

if (args.includes('--profile')) {
  const info = await tf.profile(() => {
    forward(inputs[0]!);
  });
  const times = kernelTimes(info.kernels);
  console.log(`kernels sum ${times.total.toFixed(1)} ms over ${times.calls} calls (unprofiled batch ${ms.toFixed(1)} ms)`);
  printKernelTimes(times, 25);
  printNativeFallbacks();
}
