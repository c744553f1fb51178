import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { CIFAR10, CIFAR10_ENV, fetchCifar10, parseCifarBatch, resolveCifar10Source } from '../ml/data/cifar10.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import { Rng } from '../ml/random.ts';

const root = mkdtempSync(join(tmpdir(), 'rf-cifar-'));
after(() => rmSync(root, { recursive: true, force: true }));
const R = 3073;

/** A batch file in the real format: `n` records with random pixels and labels cycling 0..9. */
function makeBatch(n: number, seed: number, labelOf = (i: number) => (i + seed) % 10): Buffer {
  const rng = new Rng(seed);
  const b = Buffer.alloc(n * R);
  for (let i = 0; i < n; i++) {
    b[i * R] = labelOf(i);
    for (let k = 1; k < R; k++) b[i * R + k] = rng.int(256);
  }
  return b;
}

let counter = 0;
/** A folder laid out like the official archive, optionally with one batch replaced or missing. */
function makeFolder(changes: Record<string, Buffer | null> = {}): string {
  const dir = join(root, `src${counter++}`);
  mkdirSync(join(dir, CIFAR10.folder), { recursive: true });
  [...CIFAR10.trainFiles, CIFAR10.testFile].forEach((name, k) => {
    const content = name in changes ? changes[name] : makeBatch(k === 5 ? 4 : 3, k + 1);
    if (content) writeFileSync(join(dir, CIFAR10.folder, name), content);
  });
  writeFileSync(join(dir, CIFAR10.folder, 'batches.meta.txt'), CIFAR10.classNames.join('\n'));
  writeFileSync(join(dir, CIFAR10.folder, 'readme.html'), '<html>not needed</html>');
  return dir;
}

async function makeTarball(folder: string): Promise<{ path: string; md5: string; size: number }> {
  const path = join(root, `cifar${counter++}.tar.gz`);
  await tar.c({ gzip: true, file: path, cwd: folder, portable: true }, [CIFAR10.folder]);
  const bytes = readFileSync(path);
  return { path, md5: createHash('md5').update(bytes).digest('hex'), size: bytes.length };
}

function outputs() {
  const k = counter++;
  return { downloadDir: root, trainPath: join(root, `train${k}.rfds`), testPath: join(root, `test${k}.rfds`) };
}

test('record layout: label byte, then R, G, B planes row-major, to NHWC', () => {
  const rec = Buffer.alloc(R);
  rec[0] = 7;
  for (let p = 0; p < 1024; p++) {
    rec[1 + p] = p % 251; // red
    rec[1 + 1024 + p] = (p * 3) % 256; // green
    rec[1 + 2048 + p] = 255 - (p % 200); // blue
  }
  const { pixels, labels } = parseCifarBatch('one', rec, 1);
  assert.deepEqual([...labels], [7]);
  for (const [y, x] of [
    [0, 0],
    [0, 31],
    [5, 9],
    [31, 31],
  ] as const) {
    const p = y * 32 + x;
    assert.deepEqual([...pixels.subarray(3 * p, 3 * p + 3)], [p % 251, (p * 3) % 256, 255 - (p % 200)]);
  }
});

test('a local tarball: verified, only the batches read, train and test written as uint8', async () => {
  const folder = makeFolder();
  const tb = await makeTarball(folder);
  const out = outputs();
  const r = await fetchCifar10({ source: { kind: 'tarball', path: tb.path }, ...out, expected: { size: tb.size, md5: tb.md5 }, recordsPerBatch: null });
  assert.equal(r.train.count, 15);
  assert.equal(r.test.count, 4);
  const train = openDataset(out.trainPath);
  const test = openDataset(out.testPath);
  assert.equal(train.dtype, 'uint8');
  assert.deepEqual(train.classNames, CIFAR10.classNames);
  assert.equal(train.meta.md5, tb.md5);
  // Batch order is data_batch_1..5; the third image of data_batch_2 is train image 3 + 2.
  const b2 = makeBatch(3, 2);
  assert.equal(train.labels[5], b2[2 * R]);
  const parsed = parseCifarBatch('b2', b2, 3);
  assert.deepEqual(train.raw(5), parsed.pixels.subarray(2 * 3072, 3 * 3072));
  assert.deepEqual([...test.labels], [6, 7, 8, 9]);
});

test('a local folder, with or without the cifar-10-batches-bin level, gives the same sets', async () => {
  const folder = makeFolder();
  const a = outputs();
  await fetchCifar10({ source: resolveCifar10Source(folder), ...a, recordsPerBatch: null });
  const b = outputs();
  const flat = resolveCifar10Source(undefined, { [CIFAR10_ENV]: join(folder, CIFAR10.folder) });
  assert.equal(flat.kind, 'folder');
  await fetchCifar10({ source: flat, ...b, recordsPerBatch: null });
  assert.deepEqual(openDataset(a.trainPath).pixels, openDataset(b.trainPath).pixels);
  assert.deepEqual(openDataset(a.trainPath).labels, openDataset(b.trainPath).labels);
  assert.deepEqual(openDataset(a.testPath).pixels, openDataset(b.testPath).pixels);
});

test('source resolution: default URL, environment, parameter, missing path', () => {
  assert.deepEqual(resolveCifar10Source(undefined, {}), { kind: 'url', url: CIFAR10.url });
  assert.equal(resolveCifar10Source('http://mirror.example/c.tgz', {}).kind, 'url');
  assert.throws(() => resolveCifar10Source(join(root, 'nope'), {}), /CIFAR-10 source .*nope does not exist/);
});

test('broken inputs fail with an error naming the file', async () => {
  const truncated = makeBatch(3, 9).subarray(0, 3 * R - 5);
  await assert.rejects(
    fetchCifar10({ source: { kind: 'folder', path: makeFolder({ 'data_batch_4.bin': truncated }) }, ...outputs(), recordsPerBatch: null }),
    /data_batch_4\.bin: 9214 bytes is not a whole number of 3073-byte records \(2 records and 3068 bytes left over\)/,
  );
  await assert.rejects(
    fetchCifar10({
      source: { kind: 'folder', path: makeFolder({ 'test_batch.bin': makeBatch(3, 9, (i) => (i === 1 ? 10 : 0)) }) },
      ...outputs(),
      recordsPerBatch: null,
    }),
    /test_batch\.bin: record 1 has label 10, expected 0\.\.9/,
  );
  const noThird = await makeTarball(makeFolder({ 'data_batch_3.bin': null }));
  await assert.rejects(
    fetchCifar10({ source: { kind: 'tarball', path: noThird.path }, ...outputs(), expected: { md5: noThird.md5 }, recordsPerBatch: null }),
    (e: Error) => e.message.includes(noThird.path) && e.message.includes('missing cifar-10-batches-bin/data_batch_3.bin'),
  );
  // The official record count is enforced by default.
  await assert.rejects(fetchCifar10({ source: { kind: 'folder', path: makeFolder() }, ...outputs() }), /data_batch_1\.bin: 3 records, expected 10000/);
});

test('a tarball with the wrong checksum, or cut short, is refused', async () => {
  const tb = await makeTarball(makeFolder());
  const out = outputs();
  await assert.rejects(
    fetchCifar10({ source: { kind: 'tarball', path: tb.path }, ...out, recordsPerBatch: null }),
    (e: Error) => e.message.includes(tb.path) && e.message.includes(`expected ${CIFAR10.size}`),
  );
  await assert.rejects(
    fetchCifar10({ source: { kind: 'tarball', path: tb.path }, ...out, expected: { md5: 'a'.repeat(32) }, recordsPerBatch: null }),
    new RegExp(`MD5 ${tb.md5}, expected a{32}`),
  );
  const cut = join(root, 'cut.tar.gz');
  copyFileSync(tb.path, cut);
  writeFileSync(cut, readFileSync(cut).subarray(0, Math.floor(statSync(tb.path).size / 2)));
  await assert.rejects(fetchCifar10({ source: { kind: 'tarball', path: cut }, ...out, expected: {}, recordsPerBatch: null }), (e: Error) =>
    e.message.includes(cut),
  );
});
