// CPU-scale CIFAR-10: seeded class-balanced subsets (balance, determinism, part of the key) and
// partial local copies (refused with a message naming the file, its count and the option; then
// accepted with data.partial, the count in the report). Files are generated in the real format.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGraph } from '../engine/plan/graph.ts';
import { parseOverride, readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import { nodeKey } from '../engine/plan/cache.ts';
import { project } from '../experiments/project.ts';
import { profileSchema } from '../experiments/profile.ts';
import { CIFAR10, fetchCifar10 } from '../ml/data/cifar10.ts';
import { openDataset, readDatasetHeader, writeDataset } from '../ml/data/dataset-file.ts';
import { Rng } from '../ml/random.ts';
import { withDataCounts } from '../report/data-note.ts';
import { subsetDataset } from '../stages/subset-dataset.ts';

const root = mkdtempSync(join(tmpdir(), 'rf-subsets-'));
after(() => rmSync(root, { recursive: true, force: true }));
const R = CIFAR10.recordBytes;

/** An unbalanced labelled set: class c has 30 + 7c images. */
function unbalanced(path: string): number[] {
  const labels: number[] = [];
  for (let c = 0; c < 10; c++) for (let i = 0; i < 30 + 7 * c; i++) labels.push(c);
  new Rng(5).shuffle(labels);
  const pixels = new Uint8Array(labels.length * 4 * 4 * 3).map((_, i) => (i * 31) % 256);
  writeDataset(path, { height: 4, width: 4, channels: 3, numClasses: 10, dtype: 'uint8' }, pixels, labels);
  return labels;
}

async function runSubset(input: string, output: string, count: number, seed: number): Promise<unknown> {
  const r = await subsetDataset.run({
    params: { count, seed, option: 'data.trainCount' },
    inputs: { data: input },
    outputs: { dataset: output },
    scratchDir: root,
    nodeId: 'subset-dataset@train',
    nodeKey: 'k',
    progress: () => {},
    log: () => {},
    environment: () => {},
    series: () => {},
  });
  return r ? r.metrics : undefined;
}

// robust.source auto must not probe the authors' URL from the test suite.
process.env.RF_OFFLINE = '1';

test('a subset is class-balanced, seeded and deterministic, and refuses more images than the set has', async () => {
  const input = join(root, 'full.rfds');
  const labels = unbalanced(input);
  const a = join(root, 'a.rfds');
  const metrics = (await runSubset(input, a, 200, 0)) as { perClass: number[]; count: number; of: number };
  assert.deepEqual(metrics.perClass, new Array(10).fill(20));
  assert.equal(metrics.of, labels.length);
  const set = openDataset(a);
  const counts = new Array(10).fill(0);
  for (const l of set.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(20), 'the written labels, not only the metrics, are balanced');
  // 350 of 615: class 0 has only 30, so the others share its remainder (balanced as sizes allow).
  const b = join(root, 'b.rfds');
  const m2 = (await runSubset(input, b, 350, 0)) as { perClass: number[] };
  assert.equal(m2.perClass[0], 30);
  assert.ok(Math.max(...m2.perClass) - Math.min(...m2.perClass.slice(1)) <= 1, m2.perClass.join(','));
  const again = join(root, 'a2.rfds');
  await runSubset(input, again, 200, 0);
  assert.deepEqual(readFileSync(again), readFileSync(a), 'same count and seed: same bytes');
  const other = join(root, 'a3.rfds');
  await runSubset(input, other, 200, 1);
  assert.notDeepEqual(readFileSync(other), readFileSync(a), 'another seed picks other images');
  await assert.rejects(runSubset(input, join(root, 'c.rfds'), 10_000, 0), /data\.trainCount: 10000 images asked of a set of 615/);
});

function graphOf(profile: string, sets: string[], projectRoot?: string) {
  const file = readParamsFile(new URL('../params.yaml', import.meta.url).pathname);
  const p = resolveProfile(file, profile, profileSchema, sets.map(parseOverride));
  return checkGraph(project.build(p.params, profile, [], projectRoot ? { root: projectRoot } : undefined));
}

test('data.trainCount/testCount add subset nodes that train and evaluation read; count and seed are in their keys', () => {
  const g = graphOf('cpu', ['data.trainCount=10000', 'data.testCount=2000', 'robust.source=build']);
  const sub = g.nodes.get('subset-dataset@train')!;
  assert.deepEqual(sub.params, { count: 10000, seed: 0, option: 'data.trainCount' });
  assert.deepEqual(g.nodes.get('subset-dataset@test')!.params, { count: 2000, seed: 0, option: 'data.testCount' });
  const train = g.nodes.get('train@q3-resnet50-d-std-lr0.1')!;
  assert.deepEqual(train.spec.inputs!.data, { node: 'subset-dataset@train', output: 'dataset' });
  assert.equal(train.spec.estimateHints!.trainCount, 10000, 'plans count the subset, not 50,000');
  const key = (params: unknown) => nodeKey({ stage: 'subset-dataset', version: 1, code: 'c', params, inputs: { data: 'd' } });
  const other = graphOf('cpu', ['data.trainCount=10000', 'data.subsetSeed=1', 'robust.source=build']).nodes.get('subset-dataset@train')!;
  assert.notEqual(key(sub.params), key(other.params));
  const table = g.nodes.get('table@table1')!;
  assert.ok((table.params as { profile: { notes: string[] } }).profile.notes.some((n) => /subset of 10000 of the 50000 CIFAR-10 train images/.test(n)));
  assert.throws(() => graphOf('cpu', ['data.trainCount=60000']), /data\.trainCount: 60000 images asked of CIFAR-10's 50000 train images/);
});

/** A folder laid out like the official archive: `records` per batch, `omit` left out. */
function cifarFolder(records: number, omit: string[] = []): string {
  const dir = mkdtempSync(join(root, 'cifar-'));
  mkdirSync(join(dir, CIFAR10.folder));
  const rng = new Rng(1);
  [...CIFAR10.trainFiles, CIFAR10.testFile].forEach((name) => {
    if (omit.includes(name)) return;
    const b = Buffer.alloc(records * R);
    for (let i = 0; i < records; i++) {
      b[i * R] = i % 10;
      for (let k = 1; k < R; k++) b[i * R + k] = rng.int(256);
    }
    writeFileSync(join(dir, CIFAR10.folder, name), b);
  });
  return dir;
}

test('a partial CIFAR-10 copy is refused naming the file, its record count and the option; data.partial reads it and the report counts it', async () => {
  const out = (k: string) => ({ downloadDir: root, trainPath: join(root, `tr-${k}.rfds`), testPath: join(root, `te-${k}.rfds`) });
  const short = cifarFolder(20);
  await assert.rejects(
    fetchCifar10({ source: { kind: 'folder', path: short }, ...out('a') }),
    /cifar-10-batches-bin\/data_batch_1\.bin: 20 records, expected 10000; a partial copy is accepted with `data: \{ partial: true \}`/,
  );
  const fewer = cifarFolder(20, ['data_batch_4.bin', 'data_batch_5.bin']);
  await assert.rejects(
    fetchCifar10({ source: { kind: 'folder', path: fewer }, recordsPerBatch: 20, ...out('b') }),
    /missing cifar-10-batches-bin\/data_batch_4\.bin, cifar-10-batches-bin\/data_batch_5\.bin; a partial copy is accepted/,
  );
  const r = await fetchCifar10({ source: { kind: 'folder', path: fewer }, partial: true, ...out('c') });
  assert.equal(r.train.count, 60);
  assert.equal(r.test.count, 20);
  const profile = withDataCounts({ name: 'cpu', synthetic: false }, { train: out('c').trainPath, test: out('c').testPath });
  assert.deepEqual(profile.notes, [
    'Images used: 60 training images (from a partial local copy), 20 test images (from a partial local copy) (evaluations may use a subset of the test images, evaluation.count).',
  ]);
  assert.equal((readDatasetHeader(out('c').trainPath).meta as { partial: { trainImages: number } }).partial.trainImages, 60);
  const noTest = cifarFolder(20, ['test_batch.bin']);
  await assert.rejects(fetchCifar10({ source: { kind: 'folder', path: noTest }, partial: true, ...out('d') }), /still needs the test batch/);
});

test('robust.source auto: the published D_R when a copy is reachable (local first, then a URL that answers), else built, and it says which', async () => {
  const { chooseRobustSource } = await import('../experiments/robust-source.ts');
  const dir = mkdtempSync(join(root, 'auto-'));
  const never = () => false;
  const built = chooseRobustSource(null, dir, { env: {}, reachable: never });
  assert.equal(built.source, 'build');
  assert.match(built.why, /^D_R built locally \(no published copy: set RF_ROBUST_DATASETS/);
  writeFileSync(join(dir, 'datasets.tar'), 'x');
  assert.deepEqual(chooseRobustSource(null, dir, { env: {}, reachable: never }), {
    source: 'fetch',
    from: join(dir, 'datasets.tar'),
    why: `Ilyas et al.'s published D_R, read from ${join(dir, 'datasets.tar')}`,
  });
  const urls: string[] = [];
  const mirror = chooseRobustSource('https://mirror.example/datasets.tar', mkdtempSync(join(root, 'auto-')), {
    env: {},
    reachable: (u) => (urls.push(u), u.includes('mirror')),
  });
  assert.equal(mirror.source, 'fetch');
  assert.equal(mirror.from, 'https://mirror.example/datasets.tar');
  assert.deepEqual(urls, ['https://mirror.example/datasets.tar']);
  assert.equal(chooseRobustSource(null, mkdtempSync(join(root, 'auto-')), { env: { RF_OFFLINE: '1' } }).source, 'build', 'RF_OFFLINE never probes');
  // In the graph: the report notes say which D_R, and a fetched one is the fetch node.
  const prev = process.env.RF_ROBUST_DATASETS;
  process.env.RF_ROBUST_DATASETS = join(dir, 'datasets.tar');
  try {
    const g = graphOf('cpu', []);
    assert.ok(g.nodes.has('fetch-robust-datasets') && !g.nodes.has('build-dr'));
    assert.deepEqual(g.nodes.get('fetch-robust-datasets')!.params, { source: join(dir, 'datasets.tar') });
    const notes = (g.nodes.get('table@table1')!.params as { profile: { notes: string[] } }).profile.notes;
    assert.ok(notes.includes(`D_R: Ilyas et al.'s published D_R, read from ${join(dir, 'datasets.tar')}.`), notes.join('\n'));
  } finally {
    if (prev === undefined) delete process.env.RF_ROBUST_DATASETS;
    else process.env.RF_ROBUST_DATASETS = prev;
  }
});

test('robust.source auto looks for datasets.tar in the project folder (--root), not the folder the command was started in', () => {
  const projectRoot = mkdtempSync(join(root, 'proj-'));
  writeFileSync(join(projectRoot, 'datasets.tar'), 'x');
  const prev = { offline: process.env.RF_OFFLINE, robust: process.env.RF_ROBUST_DATASETS };
  process.env.RF_OFFLINE = '1';
  delete process.env.RF_ROBUST_DATASETS;
  try {
    assert.notEqual(process.cwd(), projectRoot);
    const g = graphOf('cpu', [], projectRoot);
    assert.deepEqual(g.nodes.get('fetch-robust-datasets')?.params, { source: join(projectRoot, 'datasets.tar') });
    assert.ok(!g.nodes.has('build-dr'));
  } finally {
    for (const [k, v] of [
      ['RF_OFFLINE', prev.offline],
      ['RF_ROBUST_DATASETS', prev.robust],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('a URL that did not answer is not probed again for a quarter of an hour; one that answered is always asked', async () => {
  const { cachedUrlReachable, UNREACHABLE_TTL_MS } = await import('../experiments/robust-source.ts');
  const file = join(mkdtempSync(join(root, 'probe-')), 'unreachable.json');
  let t = 1_000_000;
  const asked: string[] = [];
  const probe = (answers: boolean) => (u: string) => (asked.push(u), answers);
  const ask = (u: string, answers: boolean) => cachedUrlReachable(u, { file, now: () => t, probe: probe(answers) });
  assert.equal(ask('https://a.example/d.tar', false), false);
  t += UNREACHABLE_TTL_MS - 1;
  assert.equal(ask('https://a.example/d.tar', true), false, 'remembered as unreachable');
  assert.deepEqual(asked, ['https://a.example/d.tar']);
  t += 1;
  assert.equal(ask('https://a.example/d.tar', true), true, 'asked again after the TTL');
  assert.equal(ask('https://a.example/d.tar', true), true);
  assert.equal(asked.length, 3, 'an answer is never cached');
  writeFileSync(file, '{not json');
  assert.equal(ask('https://b.example/d.tar', false), false, 'a corrupt cache file is ignored');
  assert.equal(asked.length, 4);
});
