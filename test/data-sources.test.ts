import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STD } from '../ml/augment/standard.ts';
import { stepsPerEpoch } from '../ml/data/batch-source.ts';
import { StoredImageSet } from '../ml/data/dataset-file.ts';
import { PermutedStream, datasetSource, mixSource, sequentialBatches } from '../ml/data/sources.ts';

/** Images that say where they come from: channel 0 = index / 1000, channel 1 = which set. */
function tagged(count: number, setId: number): StoredImageSet {
  const H = 2,
    W = 2,
    C = 3;
  const pixels = new Float32Array(count * H * W * C);
  for (let i = 0; i < count; i++)
    for (let p = 0; p < H * W; p++) {
      pixels[(i * H * W + p) * C] = i / 1000;
      pixels[(i * H * W + p) * C + 1] = setId;
    }
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7 + setId) % 10);
  return new StoredImageSet({ count, height: H, width: W, channels: C, numClasses: 10, dtype: 'float32' }, pixels, labels);
}
const per = 12;
const origin = (x: Float32Array, k: number) => ({ index: Math.round(x[k * per]! * 1000), set: x[k * per + 1]! });

const D = tagged(50, 0);
const DR = tagged(37, 1); // smaller than D: its stream wraps around within an epoch

test('plain source: each epoch is a permutation, last batch short, pure function of the step', () => {
  const src = datasetSource(D, { batchSize: 8, seed: 3 });
  assert.equal(stepsPerEpoch(src), 7);
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen: number[] = [];
    for (let j = 0; j < 7; j++) {
      const b = src.batch(epoch * 7 + j);
      assert.equal(b.size, j < 6 ? 8 : 2);
      for (let k = 0; k < b.size; k++) {
        const o = origin(b.x, k);
        assert.equal(o.set, 0);
        assert.equal(b.y[k], D.labels[o.index]);
        seen.push(o.index);
      }
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  }
  assert.notDeepEqual(src.plan(0).natural, src.plan(7).natural);
  // A fresh source asked for a late step first gives the same batches.
  const fresh = datasetSource(D, { batchSize: 8, seed: 3 });
  assert.deepEqual(fresh.batch(15), src.batch(15));
  assert.notDeepEqual(datasetSource(D, { batchSize: 8, seed: 4 }).plan(0).natural, src.plan(0).natural);
});

for (const alpha of [0.1, 0.25, 0.5, 0.9]) {
  test(`D_mix(${alpha}): every batch holds round(alpha*b) D_R examples and the streams are consumed in order`, () => {
    const B = 8;
    const src = mixSource(D, DR, alpha, { batchSize: B, seed: 9 });
    assert.equal(src.examplesPerEpoch, 50);
    const steps = 3 * stepsPerEpoch(src);
    const robust: number[] = [];
    const natural: number[] = [];
    for (let s = 0; s < steps; s++) {
      const b = src.batch(s);
      const j = s % stepsPerEpoch(src);
      const size = Math.min(B, 50 - j * B);
      assert.equal(b.size, size);
      const nR = Math.round(alpha * size);
      for (let k = 0; k < b.size; k++) {
        const o = origin(b.x, k);
        assert.equal(o.set, k < nR ? 1 : 0, `step ${s} position ${k}`);
        assert.equal(b.y[k], (k < nR ? DR : D).labels[o.index]);
        (k < nR ? robust : natural).push(o.index);
      }
    }
    // Concatenated over the steps, each dataset's draws are exactly its permutation stream:
    // without replacement within a stream epoch, nothing skipped or repeated across steps.
    assert.deepEqual(robust, [...new PermutedStream(37, 9, 'D_R').take(0, robust.length)]);
    assert.deepEqual(natural, [...new PermutedStream(50, 9, 'D').take(0, natural.length)]);
    assert.equal(robust.length + natural.length, 150);
    const perBatch = Math.round(alpha * B);
    assert.equal(robust.length, 3 * (6 * perBatch + Math.round(alpha * 2)));
  });
}

test('alpha = 0 is D and alpha = 1 is D_R', () => {
  const opts = { batchSize: 8, seed: 21 };
  const DR50 = tagged(50, 1);
  const zero = mixSource(D, DR50, 0, opts);
  const one = mixSource(D, DR50, 1, opts);
  const plainD = datasetSource(D, opts);
  const plainDR = datasetSource(DR50, { ...opts, stream: 'D_R' });
  for (let s = 0; s < 16; s++) {
    assert.deepEqual(zero.batch(s), plainD.batch(s));
    assert.deepEqual(one.batch(s), plainDR.batch(s));
    assert.equal(one.plan(s).natural.length, 0);
  }
});

test('augmentation is applied per batch, deterministically; bad configurations are refused', () => {
  const src = mixSource(D, DR, 0.5, { batchSize: 8, seed: 2, augment: STD });
  const a = src.batch(4);
  assert.deepEqual(src.batch(4), a);
  assert.deepEqual(a.y, mixSource(D, DR, 0.5, { batchSize: 8, seed: 2 }).batch(4).y);
  assert.notDeepEqual(a.x, mixSource(D, DR, 0.5, { batchSize: 8, seed: 2 }).batch(4).x);
  a.x.forEach((v) => assert.ok(v >= 0 && v <= 1));
  assert.throws(() => mixSource(D, DR, 1.5, { batchSize: 8, seed: 0 }), /alpha must lie in \[0, 1\], got 1.5/);
  assert.throws(() => datasetSource(D, { batchSize: 0, seed: 0 }), /batch size/);
  const other = new StoredImageSet({ count: 3, height: 1, width: 1, channels: 3, numClasses: 10, dtype: 'uint8' }, new Uint8Array(9), new Uint8Array(3));
  assert.throws(() => mixSource(D, other, 0.5, { batchSize: 8, seed: 0 }), /D has height 2 but D_R has 1/);
});

test('sequential evaluation batches cover the set in order', () => {
  const got = [...sequentialBatches(D, 16)];
  assert.deepEqual(
    got.map((b) => b.size),
    [16, 16, 16, 2],
  );
  assert.deepEqual(
    got.flatMap((b) => [...b.indices]),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(origin(got[3]!.x, 1).index, 49);
});
