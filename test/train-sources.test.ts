// The trainer on the data module's own BatchSource (seeded epoch permutations, `std` augmentation):
// the contract holds end to end, and resume stays bit-identical with augmentation on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../ml/data/image-set.ts';
import { datasetSource } from '../ml/data/sources.ts';
import { STD } from '../ml/augment/standard.ts';
import { createModel } from '../ml/models/registry.ts';
import { encodeModel } from '../ml/models/serialize.ts';
import { train, type TrainOptions } from '../ml/train/trainer.ts';
import type { Model } from '../ml/models/model.ts';
import { colourBlobs } from './train-helpers.ts';

await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'rf-train-src-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function imageSet(count: number, size: number, seed: number): ImageSet {
  const s = colourBlobs(count, size, 3, seed);
  const px = size * size * 3;
  return {
    count,
    height: size,
    width: size,
    channels: 3,
    numClasses: 3,
    labels: Uint8Array.from(s.y),
    gather(indices, out) {
      const o = out ?? new Float32Array(indices.length * px);
      for (let k = 0; k < indices.length; k++) o.set(s.x.subarray(indices[k]! * px, (indices[k]! + 1) * px), k * px);
      return o;
    },
  };
}

const config = { arch: 'resnet18', width: 1 / 32, blocks: [1, 1, 1, 1], numClasses: 3, inputSize: 8 } as const;
const set = imageSet(30, 8, 3);

function options(model: Model, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model,
    data: datasetSource(set, { batchSize: 8, seed: 17, augment: STD }), // 4 steps per epoch, the last one short (6)
    schedule: { kind: 'every-epochs', lr: 0.05, everyEpochs: 1, factor: 0.5 },
    sgd: { momentum: 0.9, weightDecay: 5e-4 },
    totalSteps: 10,
    ...extra,
  };
}

test('training on datasetSource with std augmentation resumes to the same model artifact', async () => {
  const a = createModel(config, 5);
  const r = await train(options(a));
  assert.deepEqual(
    r.epochs.map((e) => [e.step, e.examples]),
    [
      [4, 30],
      [8, 30],
      [10, 16],
    ],
  );
  const path = join(dir, 'std.ckpt');
  const b1 = createModel(config, 5);
  const controller = new AbortController();
  await assert.rejects(
    train(
      options(b1, {
        checkpoint: { path, everySteps: 3 },
        signal: controller.signal,
        onProgress: (e) => {
          if (e.done === 7) controller.abort(new Error('killed'));
        },
      }),
    ),
    /killed/,
  );
  b1.dispose();
  const b2 = createModel(config, 5);
  const res = await train(options(b2, { checkpoint: { path, everySteps: 3 } }));
  assert.equal(res.resumedFrom, 6);
  assert.deepEqual(Buffer.from(encodeModel(b2)), Buffer.from(encodeModel(a)));
  a.dispose();
  b2.dispose();
});
