import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, StoredImageSet, openDataset, readDatasetHeader, writeDataset } from '../ml/data/dataset-file.ts';
import { selectSubset, subsetView, writeSubset } from '../ml/data/subset.ts';
import { datasetSummary, formatDatasetSummary } from '../ml/data/summary.ts';
import { Rng } from '../ml/random.ts';

const dir = mkdtempSync(join(tmpdir(), 'rf-format-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const shape = { height: 4, width: 5, channels: 3, numClasses: 3 };
const size = 4 * 5 * 3;

test('uint8 round trip: exact bytes, value/255 on gather, aligned pixel block', () => {
  const n = 7;
  const pixels = new Uint8Array(n * size).map((_, i) => (i * 37) % 256);
  const labels = [0, 1, 2, 0, 1, 2, 2];
  const path = join(dir, 'u8.rfds');
  writeDataset(path, { ...shape, dtype: 'uint8', classNames: ['a', 'b', 'c'], meta: { source: 'test' } }, pixels, labels);
  const set = openDataset(path);
  assert.equal(set.count, n);
  assert.equal(set.header.pixelOffset % 64, 0);
  assert.deepEqual([...set.labels], labels);
  assert.deepEqual(set.pixels, pixels);
  assert.deepEqual(set.classNames, ['a', 'b', 'c']);
  assert.deepEqual(set.meta, { source: 'test' });
  const g = set.gather([3, 0]);
  for (let k = 0; k < size; k++) {
    assert.equal(g[k], Math.fround(pixels[3 * size + k]! / 255));
    assert.equal(g[size + k], Math.fround(pixels[k]! / 255));
  }
  // Views over the single read buffer, not copies.
  assert.equal(set.pixels.buffer, set.labels.buffer);
  // File size: header + pixels + labels + 40-byte trailer.
  assert.equal(statSync(path).size, set.header.pixelOffset + n * size + n + 40);
});

test('float32 round trip, streamed in chunks, no temp file left behind', () => {
  const n = 10;
  const pixels = new Rng(1).fillUniform(new Float32Array(n * size), 0, 1);
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const path = join(dir, 'f32.rfds');
  const w = new DatasetWriter(path, { ...shape, count: n, dtype: 'float32' });
  w.append(pixels.subarray(0, 4 * size), labels.slice(0, 4));
  w.append(pixels.subarray(4 * size), labels.slice(4));
  w.close();
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
  const set = openDataset(path);
  assert.equal(set.dtype, 'float32');
  assert.equal(set.pixels.byteOffset % 64, 0);
  assert.deepEqual(set.gather([9, 2]), new Float32Array([...pixels.subarray(9 * size, 10 * size), ...pixels.subarray(2 * size, 3 * size)]));
  assert.deepEqual(readDatasetHeader(path).count, n);
});

test('bad input is refused with a message naming it', () => {
  const path = join(dir, 'bad.rfds');
  assert.throws(() => writeDataset(path, { ...shape, dtype: 'float32' }, new Float32Array(size).fill(1.5), [0]), /example 0 has value 1.5 outside \[0, 1\]/);
  assert.throws(() => writeDataset(path, { ...shape, dtype: 'uint8' }, new Uint8Array(size), [3]), /example 0 has label 3, expected 0..2/);
  assert.throws(() => writeDataset(path, { ...shape, dtype: 'uint8' }, new Float32Array(size), [0]), /needs Uint8Array/);
  const w = new DatasetWriter(path, { ...shape, count: 2, dtype: 'uint8' });
  w.append(new Uint8Array(size), [0]);
  assert.throws(() => w.close(), /1 examples written, header declares 2/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.bad')),
    [],
  );
});

test('truncation, corruption and foreign files are detected', () => {
  const path = join(dir, 'damaged.rfds');
  writeDataset(path, { ...shape, dtype: 'uint8' }, new Uint8Array(3 * size).fill(9), [0, 1, 2]);
  const full = statSync(path).size;
  const copy = join(dir, 'copy.rfds');
  writeFileSync(copy, readFileSync(path));
  truncateSync(copy, full - 10);
  assert.throws(
    () => openDataset(copy),
    (e: Error) => e.message.includes(copy) && /truncated: \d+ bytes, the header declares \d+/.test(e.message),
  );
  assert.throws(() => readDatasetHeader(copy), /truncated/);
  const bytes = readFileSync(path);
  bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff; // a pixel byte
  writeFileSync(copy, bytes);
  assert.throws(() => openDataset(copy), /checksum mismatch/);
  assert.doesNotThrow(() => openDataset(copy, { verify: false }));
  writeFileSync(copy, 'hello world, not a dataset');
  assert.throws(() => openDataset(copy), /not a robustfeat dataset file/);
});

test('subsets: first n, stratified balance, views and written subsets', () => {
  const n = 40;
  const labels = Array.from({ length: n }, (_, i) => (i < 25 ? 0 : i < 35 ? 1 : 2)); // 25/10/5
  const pixels = new Uint8Array(n * size).map((_, i) => Math.floor(i / size));
  const set = new StoredImageSet({ ...shape, count: n, dtype: 'uint8' }, pixels, Uint8Array.from(labels));
  assert.deepEqual([...selectSubset(set.labels, 3, { kind: 'first', n: 3 })], [0, 1, 2]);
  const strat = selectSubset(set.labels, 3, { kind: 'stratified', n: 18, seed: 5 });
  const counts = [0, 0, 0];
  for (const i of strat) counts[labels[i]!]! += 1;
  // Class 2 has only 5: its share goes to the others, which stay balanced.
  assert.equal(counts[2], 5);
  assert.deepEqual([counts[0], counts[1]].sort(), [6, 7]);
  assert.deepEqual(selectSubset(set.labels, 3, { kind: 'stratified', n: 18, seed: 5 }), strat);
  assert.notDeepEqual(selectSubset(set.labels, 3, { kind: 'stratified', n: 18, seed: 6 }), strat);
  const view = subsetView(set, [30, 2]);
  assert.deepEqual([...view.labels], [1, 0]);
  assert.equal(view.gather([0])[0], Math.fround(30 / 255));
  const path = join(dir, 'sub.rfds');
  writeSubset(path, set, strat, { subset: 'stratified 18' });
  const sub = openDataset(path);
  assert.equal(sub.dtype, 'uint8');
  assert.deepEqual(
    [...sub.labels],
    [...strat].map((i) => labels[i]),
  );
  assert.equal(sub.pixels[size * 3], strat[3]);
  assert.deepEqual(sub.meta, { subset: 'stratified 18' });
  const summary = datasetSummary(sub);
  assert.deepEqual(summary.classCounts, counts);
  assert.match(formatDatasetSummary(summary), /18 images, 4x5x3 \(HxWxC\), uint8, 3 classes/);
  assert.match(formatDatasetSummary({ ...summary, meta: { meanDistance: 0.1633328642495908, steps: 40 } }), /metadata: \{"meanDistance":0\.1633,"steps":40\}/);
});
