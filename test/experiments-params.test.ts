import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOverride, readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import { withThousands } from '../experiments/data.ts';
import { project } from '../experiments/project.ts';
import { buildTable1 } from '../report/q3-tables.ts';
import { tableMarkdown } from '../report/table.ts';
import type { ProfileInfo } from '../report/profile.ts';
import { MINI_PROFILE, MINI_TRAIN } from './helpers/mini-profile.ts';

/** Bad parameters fail when the graph is built, through the real CLI, with a clean message naming the params.yaml path. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rf-params-'));
  dirs.push(dir);
  copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline.ts'), '--root', dir, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('counts that exceed the data they subset fail when the graph is built (exit 2, the params.yaml path, no stack)', () => {
  const cases: [string, RegExp][] = [
    ['evaluation.count=1000000', /params\.yaml evaluation\.count: 1000000 exceeds the \d+ test images of data\.synthetic/],
    ['robust.build.count=1000000', /params\.yaml robust\.build\.count: 1000000 exceeds the \d+ training images \(\|D\|\)/],
    ['robust.nonRobust={variants: [det], eps: 0.5, step: 0.1, iterations: 2, count: 1000000}', /params\.yaml robust\.nonRobust\.count: 1000000 exceeds/],
  ];
  for (const [set, message] of cases) {
    const r = cli('--set', set, 'dag', 'all');
    assert.equal(r.code, 2, `${set}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  }
});

test('errors raised while building the graph are user errors (exit 2, no stack trace)', () => {
  const r = cli('--set', 'q1.train.epochs=1.5', 'dag', 'fig1');
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: params\.yaml q1\.train\.epochs: snapshots need a whole number of epochs, got 1\.5/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const q2 = cli('--set', 'q2.attacks={}', 'dag', 'fig3');
  assert.equal(q2.code, 2, q2.stdout + q2.stderr);
  assert.match(q2.stderr, /^error: params\.yaml q2\.attacks: no attacks for model/);
});

test('values found by test/fuzz-inputs that crashed the graph build are user errors naming the key (exit 2, no stack trace)', () => {
  const cases: [string, RegExp][] = [
    // A model entry's fields are checked by the train stage; the reports' model notes read them first.
    ['q1.model.blocks=false', /^error: the pipeline is not valid:\n {2}params\.yaml: q1\.model\.blocks: /],
    // 2^53 epochs: beyond the train stage's bound, which the profile's schema shares.
    [
      'q1.train.epochs=9007199254740992',
      /profiles\.demo\.q1\.train\.epochs: Too big: expected number to be <=10000 \(from --set q1\.train\.epochs=9007199254740992\)/,
    ],
    // Within it, a snapshot after every epoch: a set of that many snapshot nodes is a typo, not a plan.
    ['q1.train.epochs=10000', /^error: params\.yaml q1\.train\.epochs: 10000 epochs would take \d+ snapshots/],
  ];
  for (const [set, message] of cases) {
    const r = cli('--set', set, 'dag', 'all');
    assert.equal(r.code, 2, `${set}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  }
});

test("--set into an inherited mapping does not write into the parsed file's other profiles", () => {
  const file = readParamsFile(join(ROOT, 'params.yaml'));
  // demo and cpu inherit robust.adversarial from paper without a key of their own in it.
  const iterations = (name: string) => resolveProfile(file, name, project.profileSchema).params.robust.adversarial.iterations;
  const before = ['paper', 'demo', 'cpu'].map(iterations);
  const changed = resolveProfile(file, 'demo', project.profileSchema, [parseOverride('robust.adversarial.iterations=99')]);
  assert.equal(changed.params.robust.adversarial.iterations, 99);
  assert.deepEqual(['paper', 'demo', 'cpu'].map(iterations), before, 'the override leaked into the parsed file');
});

test('a report header states what actually ran: the evaluation size and the --set overrides', () => {
  const file = readParamsFile(join(ROOT, 'params.yaml'));
  const overrides = [parseOverride('evaluation.count=400')];
  const { params } = resolveProfile(file, 'demo', project.profileSchema, overrides);
  const graph = project.build(
    params,
    'demo',
    overrides.map((o) => o.text),
  );
  const node = graph.nodes.find((n) => n.id === 'table@table1')!;
  const profile = (node.params as { profile: ProfileInfo }).profile;
  assert.match(profile.asRun ?? '', /^400 test images per evaluation \(a seeded subset of [\d,]+\); --set evaluation\.count=400$/);
  const md = tableMarkdown(buildTable1([], profile));
  assert.match(md, /Profile: `demo` — .* \(as run: 400 test images per evaluation .*--set evaluation\.count=400\)\./);
});

test('withThousands writes integers as toLocaleString("en-US") does', () => {
  for (const n of [0, 7, 999, 1000, 4000, 10_000, 99_999, 100_000, 1_234_567, -1, -1234, -1_000_000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(withThousands(n), n.toLocaleString('en-US'), String(n));
  }
  assert.throws(() => withThousands(1.5), /not an integer/);
});

test("a model's own train settings replace the experiment's for that model's nodes only", () => {
  const file = readParamsFile(join(ROOT, 'params.yaml'));
  const models = [
    { name: 'ResNet-18', model: { arch: 'resnet18', width: 0.125, blocks: [1, 1, 1, 1] } },
    { name: 'VGG-16', model: { arch: 'vgg16', width: 0.125 }, train: { epochs: 7, lr: { kind: 'constant', lr: 0.01 } } },
  ];
  const overrides = [parseOverride(`q2.models=${JSON.stringify(models)}`), parseOverride('q2.train.epochs=3')];
  const { params } = resolveProfile(file, 'demo', project.profileSchema, overrides);
  const graph = project.build(
    params,
    'demo',
    overrides.map((o) => o.text),
  );
  const trainOf = (id: string) => graph.nodes.find((n) => n.id === id)!.params as { epochs: number; lr: unknown; batchSize: number };
  const vgg = trainOf('train@q2-vgg16-alpha0');
  assert.equal(vgg.epochs, 7);
  assert.deepEqual(vgg.lr, { kind: 'constant', lr: 0.01 });
  assert.equal(vgg.batchSize, params.q2.train.batchSize, 'a key the model does not give comes from q2.train');
  assert.equal(trainOf('train@q2-resnet18-alpha0').epochs, 3);
  // D_NR's models train as Q2's ResNet-18 does, its own settings included (scaled to D_NR's size).
  const own = [{ ...models[0], train: { epochs: 2 } }, models[1]];
  const withOwn = [parseOverride(`q2.models=${JSON.stringify(own)}`)];
  const g2 = project.build(resolveProfile(file, 'demo', project.profileSchema, withOwn).params, 'demo', []);
  const ddet = g2.nodes.find((n) => n.id === 'train@ddet')!.params as { epochs: number };
  assert.equal(ddet.epochs, (2 * params.data.synthetic!.trainCount) / (params.robust.nonRobust?.count ?? NaN));
  const bad = [{ ...models[1], train: { epoch: 7 } }];
  assert.throws(() => resolveProfile(file, 'demo', project.profileSchema, [parseOverride(`q2.models=${JSON.stringify(bad)}`)]), /epoch/);
});

test("the synthetic world's pose keys reach the dataset node and are bounded", () => {
  const file = readParamsFile(join(ROOT, 'params.yaml'));
  const overrides = [parseOverride('data.synthetic.robustShift=0'), parseOverride('data.synthetic.distractor=0')];
  const { params } = resolveProfile(file, 'demo', project.profileSchema, overrides);
  const node = project.build(params, 'demo', []).nodes.find((n) => n.id === 'synthetic-dataset')!;
  assert.deepEqual([(node.params as { robustShift?: number }).robustShift, (node.params as { distractor?: number }).distractor], [0, 0]);
  assert.throws(() => resolveProfile(file, 'demo', project.profileSchema, [parseOverride('data.synthetic.robustScaleJitter=1.5')]), /robustScaleJitter/);
});

test("the tests' miniature profile trains every Q2 and Q3 model for its own one epoch, whatever epochs the demo gives a model", () => {
  const file = readParamsFile(join(ROOT, 'params.yaml'));
  const withMini = { ...file, profiles: { ...file.profiles, mini: MINI_PROFILE as unknown as (typeof file.profiles)[string] } };
  const { params } = resolveProfile(withMini, 'mini', project.profileSchema);
  const trains = project.build(params, 'mini', []).nodes.filter((n) => /^train@q[23]-/.test(n.id));
  assert.ok(trains.length > 10, `${trains.length} Q2/Q3 training nodes`);
  for (const n of trains)
    assert.equal((n.params as { epochs: number }).epochs, MINI_TRAIN.epochs, `${n.id} trains ${(n.params as { epochs: number }).epochs} epochs`);
});
