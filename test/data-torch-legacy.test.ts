import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { openDataset } from '../ml/data/dataset-file.ts';
import { PyCall, PyDict, PyGlobal, unpickle, type PyTuple, type PyValue } from '../ml/data/pickle.ts';
import { convertTorchPair, fetchRobustDatasets, resolveRobustSource } from '../ml/data/robust-datasets.ts';
import { readTensor, readTorchLegacy, tensorList } from '../ml/data/torch-legacy.ts';

const fx = (name: string) => join(import.meta.dirname, 'fixtures', 'data', name);
const expected = JSON.parse(readFileSync(fx('legacy_expected.json'), 'utf8')) as { ims: number[]; ims_shape: number[]; lab: number[] };
const dir = mkdtempSync(join(tmpdir(), 'rf-torch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

{
  test(`pickle protocol 2: values written by Python's pickle`, () => {
    const { value } = unpickle(readFileSync(fx('values_p2.pkl')));
    assert.ok(value instanceof PyDict);
    assert.deepEqual(value.get('ints'), [0, 255, 256, 65536, -1, -(2 ** 31), 2 ** 31, 2n ** 70n, -(2n ** 70n)]);
    assert.equal(value.get('float'), -2.5);
    assert.equal(value.get('str'), 'café');
    assert.deepEqual([...(value.get('bytes') as Uint8Array)], [0, 255]);
    const tuple = value.get('tuple') as PyTuple;
    assert.equal(tuple.items[0], 1);
    assert.deepEqual((tuple.items[1] as PyTuple).items, [2, 3]);
    assert.deepEqual((tuple.items[2] as PyTuple).items, []);
    assert.deepEqual(value.get('flags'), [true, false, null]);
    const od = value.get('od');
    // OrderedDict is a call record (nothing is executed), with its items in the pickle.
    assert.ok(od instanceof PyCall && od.callable instanceof PyGlobal && od.callable.qualified === 'collections.OrderedDict');
    assert.equal(od.dictItems.get('a'), 1);
    const shared = value.get('shared') as PyValue[][];
    assert.equal(shared[0], shared[1]); // the memo keeps identity
  });
}

test('pickle: unsupported opcodes and truncation are reported', () => {
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x8f, 0x2e])), /unsupported pickle opcode EMPTY_SET \(0x8f\) at byte 2/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x58, 9, 0, 0, 0, 0x61])), /needs byte/);
});

test('legacy torch file: a list of batch tensors, views with offsets and strides', () => {
  const file = readTorchLegacy(fx('legacy_ims.pt'));
  const tensors = tensorList(file);
  assert.deepEqual(
    tensors.map((t) => t.shape),
    [
      [2, 3, 4, 4],
      [3, 3, 4, 4],
      [1, 3, 4, 4],
    ],
  );
  assert.equal(tensors[1]!.offset, 48);
  assert.deepEqual(tensors[2]!.stride, [48, 16, 1, 4]);
  assert.equal(tensors[0]!.storage.typeName, 'torch.FloatStorage');
  assert.equal(tensors[1]!.storage.numel, 240); // the whole 5-image storage was saved
  const values = tensors.flatMap((t) => [...(readTensor(file, t) as Float32Array)]);
  assert.equal(values.length, expected.ims.length);
  values.forEach((v, i) => assert.equal(v, Math.fround(expected.ims[i]!), `element ${i}`));
  const lab = readTorchLegacy(fx('legacy_lab.pt'));
  const labels = tensorList(lab).flatMap((t) => [...(readTensor(lab, t) as BigInt64Array)].map(Number));
  assert.deepEqual(labels, expected.lab);
});

test('storages saved from CUDA (torch.cuda.FloatStorage, cuda:0) read the same', () => {
  const cpu = readTorchLegacy(fx('legacy_ims.pt'));
  const gpu = readTorchLegacy(fx('legacy_ims_cuda.pt'));
  const t = tensorList(gpu);
  assert.equal(t[0]!.storage.typeName, 'torch.cuda.FloatStorage');
  assert.equal(t[0]!.storage.location, 'cuda:0');
  tensorList(cpu).forEach((c, i) => assert.deepEqual(readTensor(gpu, t[i]!), readTensor(cpu, c)));
});

test('a single tensor is a list of one; other contents are errors naming what was found', () => {
  const single = readTorchLegacy(fx('legacy_single.pt'));
  assert.equal(tensorList(single).length, 1);
  assert.throws(() => tensorList(readTorchLegacy(fx('legacy_dict.pt'))), /legacy_dict\.pt: holds dict with keys ims, expected a list of tensors/);
  const zip = join(dir, 'new-format.pt');
  writeFileSync(zip, Buffer.from('PK\x03\x04 rest of a zip'));
  assert.throws(() => readTorchLegacy(zip), /new-format\.pt: is a zip archive/);
  const cut = join(dir, 'cut.pt');
  const bytes = readFileSync(fx('legacy_ims.pt'));
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => readTorchLegacy(cut), /cut\.pt: truncated: storage \d+ needs bytes up to 2075, the file has 1975/);
  writeFileSync(cut, bytes.subarray(0, 300));
  assert.throws(() => readTorchLegacy(cut), /cut\.pt: truncated inside its pickles/);
});

test('conversion to the dataset format: NCHW -> NHWC float32, labels, validation', () => {
  const out = join(dir, 'dr.rfds');
  convertTorchPair(fx('legacy_ims.pt'), fx('legacy_lab.pt'), out, { meta: { variant: 'test' } });
  const set = openDataset(out);
  assert.equal(set.dtype, 'float32');
  assert.deepEqual([set.count, set.height, set.width, set.channels], [6, 4, 4, 3]);
  assert.deepEqual([...set.labels], expected.lab);
  const [, C, H, W] = expected.ims_shape as [number, number, number, number];
  for (const [n, c, y, x] of [
    [0, 0, 0, 0],
    [2, 1, 3, 2],
    [5, 2, 1, 3],
    [4, 0, 2, 1],
  ] as const) {
    const nchw = expected.ims[((n * C + c) * H + y) * W + x]!;
    assert.equal(set.pixels[((n * H + y) * W + x) * C + c], Math.fround(nchw));
  }
  // float64 images are accepted and stored as float32.
  const dbl = openDataset(convertTorchPair(fx('legacy_double.pt'), fx('legacy_lab2.pt'), join(dir, 'd.rfds')) && join(dir, 'd.rfds'));
  assert.deepEqual(dbl.gather([0, 1]), set.gather([0, 1]));
  assert.deepEqual([...dbl.labels], [7, 0]);
  const bad = join(dir, 'x.rfds');
  assert.throws(() => convertTorchPair(fx('legacy_single.pt'), fx('legacy_badlab.pt'), bad), /legacy_badlab\.pt: batch 0 label 1 is 10, expected 0\.\.9/);
  assert.throws(
    () => convertTorchPair(fx('legacy_badims.pt'), fx('legacy_lab2.pt'), bad),
    /legacy_badims\.pt: batch 0 image 0 has value [\d.]+ outside \[0, 1\]/,
  );
  assert.throws(
    () => convertTorchPair(fx('legacy_single.pt'), fx('legacy_lab.pt'), bad),
    /legacy_single\.pt holds 2 images but .*legacy_lab\.pt holds 6 labels/,
  );
  assert.throws(() => convertTorchPair(fx('legacy_lab.pt'), fx('legacy_lab.pt'), bad), /batch 0 has shape \[2\], expected N x C x H x W/);
  assert.throws(
    () => convertTorchPair(fx('legacy_ims.pt'), fx('legacy_ims.pt'), bad),
    /legacy_ims\.pt: batch 0 has shape \[2, 3, 4, 4\], expected a vector of labels/,
  );
  assert.throws(() => openDataset(bad), /ENOENT/); // nothing half-written is left
});

test('fetch from a tarball or a folder in the release_datasets layout', async () => {
  const src = join(dir, 'src');
  for (const [variant, ims] of [
    ['d_robust_CIFAR', 'legacy_ims.pt'],
    ['d_non_robust_CIFAR', 'legacy_ims_cuda.pt'],
  ] as const) {
    mkdirSync(join(src, 'release_datasets', variant), { recursive: true });
    copyFileSync(fx(ims), join(src, 'release_datasets', variant, 'CIFAR_ims'));
    copyFileSync(fx('legacy_lab.pt'), join(src, 'release_datasets', variant, 'CIFAR_lab'));
  }
  const tarball = join(dir, 'datasets.tar');
  await tar.c({ file: tarball, cwd: src, portable: true }, ['release_datasets']);
  const outputs = { d_robust_CIFAR: join(dir, 'dr.rfds'), d_non_robust_CIFAR: join(dir, 'dnr.rfds') };
  const r = await fetchRobustDatasets({ source: resolveRobustSource(tarball, {}), outputs, downloadDir: dir, extractDir: join(dir, 'scratch') });
  assert.equal(r.d_robust_CIFAR!.count, 6);
  const dr = openDataset(outputs.d_robust_CIFAR);
  const dnr = openDataset(outputs.d_non_robust_CIFAR);
  assert.deepEqual(dr.pixels, dnr.pixels);
  assert.equal(dnr.meta.variant, 'd_non_robust_CIFAR');
  assert.match(String(dr.meta.md5), /^[0-9a-f]{32}$/);
  assert.deepEqual(readdirSync(join(dir, 'scratch')), []);
  const fromFolder = join(dir, 'folder.rfds');
  await fetchRobustDatasets({
    source: resolveRobustSource(src, {}),
    outputs: { d_robust_CIFAR: fromFolder },
    downloadDir: dir,
    extractDir: join(dir, 'scratch'),
  });
  assert.deepEqual(openDataset(fromFolder).pixels, dr.pixels);
  await assert.rejects(
    fetchRobustDatasets({ source: { kind: 'folder', path: src }, outputs: { drand_CIFAR: join(dir, 'no.rfds') }, downloadDir: dir, extractDir: dir }),
    /no release_datasets\/drand_CIFAR\/\{CIFAR_ims,CIFAR_lab\}/,
  );
  assert.throws(() => resolveRobustSource(join(dir, 'absent'), {}), /absent does not exist/);
  assert.equal(resolveRobustSource(undefined, {}).kind, 'url');
});
