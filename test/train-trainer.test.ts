// The training loop: it learns, it is deterministic, a killed run resumes to bit-identical weights,
// snapshots/epochs/progress fire as documented, and it does not leak tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfigInput } from '../ml/models/config.ts';
import type { Model } from '../ml/models/model.ts';
import { createModel } from '../ml/models/registry.ts';
import { train, type EpochMetrics, type TrainOptions } from '../ml/train/trainer.ts';
import type { ProgressEvent } from '../contracts/progress.ts';
import { ArrayBatchSource, colourBlobs } from './train-helpers.ts';
import { useNativeOrCpu } from './attacks-helpers.ts';

await useNativeOrCpu();
const dir = mkdtempSync(join(tmpdir(), 'rf-train-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function weightsHash(model: Model): string {
  const h = createHash('sha256');
  for (const v of model.namedVariables) h.update(new Uint8Array(Float32Array.from(v.variable.dataSync() as Float32Array).buffer));
  return h.digest('hex');
}

function accuracy(model: Model, x: Float32Array, y: Int32Array, size: number): number {
  return tf.tidy(() => {
    const logits = model.logits(tf.tensor4d(x, [y.length, size, size, 3]), 'eval');
    const pred = Array.from(logits.argMax(1).dataSync());
    return pred.filter((p, i) => p === y[i]).length / y.length;
  });
}

test('a small ResNet learns the synthetic colour task well above chance in a short run', async () => {
  // 8x8 images keep this fast: the cpu backend's conv weight gradient dominates a step.
  const trainSet = colourBlobs(120, 8, 4, 1);
  const testSet = colourBlobs(128, 8, 4, 2);
  const model = createModel({ arch: 'resnet18', width: 1 / 16, blocks: [1, 1, 1, 1], numClasses: 4, inputSize: 8 }, 5);
  const before = accuracy(model, testSet.x, testSet.y, 8);
  const epochs: EpochMetrics[] = [];
  await train({
    model,
    data: new ArrayBatchSource(trainSet, 12, 4),
    schedule: { kind: 'constant', lr: 0.02 },
    sgd: { momentum: 0.9, weightDecay: 5e-4 },
    totalSteps: 30,
    onEpoch: (m) => {
      epochs.push(m);
    },
  });
  const after = accuracy(model, testSet.x, testSet.y, 8);
  assert.equal(epochs.length, 3);
  assert.ok(epochs[2]!.loss < epochs[0]!.loss, `training loss falls: ${epochs.map((e) => e.loss.toFixed(3))}`);
  // Seeds 3-5 and lr 0.02-0.05 reach 0.76-0.93 eval-mode accuracy after these 30 steps.
  assert.ok(after >= 0.65, `held-out accuracy ${after} (chance 0.25, before training ${before})`);
  model.dispose();
});

const tinyConfig: ModelConfigInput = { arch: 'resnet18', width: 1 / 32, blocks: [1, 1, 1, 1], numClasses: 3, inputSize: 8 };
const tinySet = colourBlobs(40, 8, 3, 5);

function options(model: Model, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model,
    data: new ArrayBatchSource(tinySet, 8, 6), // 5 steps per epoch
    schedule: { kind: 'milestones', lr: 0.1, milestones: [6, 10], factor: 0.1 },
    sgd: { momentum: 0.9, weightDecay: 5e-4 },
    totalSteps: 13, // the last epoch is partial
    ...extra,
  };
}

test('killed mid-run, training resumes from its checkpoint to bit-identical weights, snapshots and epoch metrics', async () => {
  // Uninterrupted reference.
  const a = createModel(tinyConfig, 9);
  const snapsA = new Map<number, string>();
  const epochsA: EpochMetrics[] = [];
  const resA = await train(
    options(a, {
      snapshotSteps: [0, 3, 8, 13],
      onSnapshot: (s, m) => {
        snapsA.set(s, weightsHash(m));
      },
      onEpoch: (m) => {
        epochsA.push(m);
      },
    }),
  );
  assert.equal(resA.resumedFrom, null);
  assert.deepEqual([...snapsA.keys()], [0, 3, 8, 13]);
  assert.deepEqual(
    epochsA.map((e) => [e.epoch, e.step, e.examples, e.partial]),
    [
      [0, 5, 40, false],
      [1, 10, 40, false],
      [2, 13, 24, true],
    ],
  );
  assert.deepEqual(
    epochsA.map((e) => e.lr),
    [0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1],
  );

  // Same seed, killed after update 9 (checkpoints every 4 updates: the last one is at 8, mid-epoch).
  const path = join(dir, 'resume.ckpt');
  const b1 = createModel(tinyConfig, 9);
  const controller = new AbortController();
  const snapsB = new Map<number, string>();
  await assert.rejects(
    train(
      options(b1, {
        checkpoint: { path, everySteps: 4 },
        snapshotSteps: [0, 3, 8, 13],
        onSnapshot: (s, m) => {
          snapsB.set(s, weightsHash(m));
        },
        signal: controller.signal,
        onProgress: (e) => {
          if (e.done === 9) controller.abort(new Error('killed'));
        },
      }),
    ),
    /killed/,
  );
  b1.dispose();
  assert.ok(existsSync(path));
  // A fresh process would rebuild the model from its config and seed, then resume.
  const b2 = createModel(tinyConfig, 9);
  const epochsB: EpochMetrics[] = [];
  const resB = await train(
    options(b2, {
      checkpoint: { path, everySteps: 4 },
      snapshotSteps: [0, 3, 8, 13],
      onSnapshot: (s, m) => {
        snapsB.set(s, weightsHash(m));
      },
      onEpoch: (m) => {
        epochsB.push(m);
      },
    }),
  );
  assert.equal(resB.resumedFrom, 8);
  assert.equal(weightsHash(b2), weightsHash(a), 'final weights (and running statistics) are bit-identical');
  assert.deepEqual(snapsB, snapsA);
  // Epoch 1 straddles the kill: its metrics, restored from the checkpoint's accumulators, are exact.
  const strip = (e: EpochMetrics) => ({ ...e, imagesPerSecond: 0 });
  assert.deepEqual(epochsB.map(strip), epochsA.slice(1).map(strip));
  a.dispose();
  b2.dispose();
});

test('with a gradient-based perturbation of each batch, a resumed run still ends bit-identical', async () => {
  // One normalised L2 gradient step of size 0.5 on the eval-mode loss (a 1-step PGD stand-in).
  const perturb = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D =>
    tf.tidy(() => {
      const g = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), model.logits(v as tf.Tensor4D, 'eval')))(x);
      const norm = g.square().sum([1, 2, 3], true).sqrt().add(1e-10);
      return x.add(g.div(norm).mul(0.5)).clipByValue(0, 1) as tf.Tensor4D;
    });
  const a = createModel(tinyConfig, 21);
  await train(options(a, { totalSteps: 7, perturb }));
  const path = join(dir, 'adv.ckpt');
  const b1 = createModel(tinyConfig, 21);
  const controller = new AbortController();
  await assert.rejects(
    train(
      options(b1, {
        totalSteps: 7,
        perturb,
        checkpoint: { path, everySteps: 3 },
        signal: controller.signal,
        onProgress: (e) => {
          if (e.done === 5) controller.abort(new Error('killed'));
        },
      }),
    ),
    /killed/,
  );
  b1.dispose();
  const b2 = createModel(tinyConfig, 21);
  const counts: number[] = [];
  const res = await train(
    options(b2, {
      totalSteps: 7,
      perturb,
      checkpoint: { path, everySteps: 1 },
      onProgress: () => {
        counts.push(tf.memory().numTensors);
      },
    }),
  );
  assert.equal(res.resumedFrom, 3);
  assert.equal(weightsHash(b2), weightsHash(a));
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor counts per step: ${counts}`,
  );
  a.dispose();
  b2.dispose();
});

test('same seed, same backend: identical weights; a different seed differs', async () => {
  const hashes: string[] = [];
  for (const seed of [11, 11, 12]) {
    const m = createModel(tinyConfig, seed);
    await train(options(m, { totalSteps: 4 }));
    hashes.push(weightsHash(m));
    m.dispose();
  }
  assert.equal(hashes[0], hashes[1]);
  assert.notEqual(hashes[0], hashes[2]);
});

test('a checkpoint from a different run is refused, naming what differs', async () => {
  const path = join(dir, 'other.ckpt');
  const m = createModel(tinyConfig, 1);
  await train(options(m, { totalSteps: 2, checkpoint: { path, everySteps: 1 } }));
  await assert.rejects(
    train(options(m, { totalSteps: 2, sgd: { momentum: 0.9, weightDecay: 1e-4 }, checkpoint: { path, everySteps: 1 } })),
    /other\.ckpt: checkpoint belongs to a different run \(differs in sgd\)/,
  );
  m.dispose();
});

test('perturb replaces each batch (identity perturbation changes nothing); no tensors leak per step', async () => {
  const plain = createModel(tinyConfig, 4);
  await train(options(plain, { totalSteps: 5 }));
  const hooked = createModel(tinyConfig, 4);
  const before = tf.memory().numTensors;
  const calls: number[] = [];
  const counts: number[] = [];
  const events: ProgressEvent[] = [];
  await train(
    options(hooked, {
      totalSteps: 5,
      checkpoint: { path: join(dir, 'leak.ckpt'), everySteps: 2 },
      snapshotSteps: [2],
      onSnapshot: () => {},
      perturb: (model, x, _y, step) => {
        assert.equal(model, hooked);
        calls.push(step);
        return x.clone();
      },
      onProgress: (e) => {
        events.push(e);
        counts.push(tf.memory().numTensors);
      },
    }),
  );
  assert.equal(tf.memory().numTensors, before, 'train() leaves no tensors behind');
  assert.deepEqual(calls, [0, 1, 2, 3, 4]);
  assert.equal(weightsHash(hooked), weightsHash(plain));
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor counts per step: ${counts}`,
  );
  assert.deepEqual(
    events.map((e) => e.done),
    [1, 2, 3, 4, 5],
  );
  for (const key of ['loss', 'acc', 'img/s', 'eta_s', 'lr', 'epoch']) assert.ok(key in events[0]!.info!, key);
  plain.dispose();
  hooked.dispose();
});

test('bad options are rejected with clear messages', async () => {
  const m = createModel(tinyConfig, 1);
  await assert.rejects(train(options(m, { totalSteps: 0 })), /totalSteps must be a positive integer/);
  await assert.rejects(train(options(m, { snapshotSteps: [99] })), /snapshot step 99 outside 0\.\.13/);
  await assert.rejects(train(options(m, { schedule: { kind: 'milestones', lr: 0.1, milestones: [5, 3], factor: 0.1 } })), /milestones must be increasing/);
  await assert.rejects(train(options(m, { data: new ArrayBatchSource(colourBlobs(8, 16, 3, 1), 4, 1) })), /data is 16x16x3, the model takes 8x8x3/);
  m.dispose();
});
