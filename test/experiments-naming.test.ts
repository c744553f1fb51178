// docs/naming.md through the real CLI: no node id of any profile needs shell quoting; names agree
// across ids, report files and labels; and a store built under the old ids is still cached under
// the new ones, but for the reports whose parameters list node ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import { profileSchema } from '../experiments/profile.ts';
import { project } from '../experiments/project.ts';
import { GRID_NAMES } from '../ml/attacks/grids.ts';
import { attackLabel, nameToken } from '../report/labels.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const PARAMS = join(ROOT, 'params.yaml');

function run(entry: string, args: readonly string[], cwd = ROOT): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, entry, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const cli = (args: readonly string[]) => run(join(ROOT, 'pipeline.ts'), args);

/** The node ids `dag` prints (one per unindented line, `<id>  (<stage>)`). */
function dagIds(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => /^\S+ {2}\(/.test(l))
    .map((l) => l.split(' ')[0]!);
}

test('no node id of any profile needs shell quoting (bash with failglob, zsh globs, upper case)', { timeout: 300_000 }, () => {
  const profiles = Object.keys(readParamsFile(PARAMS).profiles);
  assert.ok(profiles.length >= 3, profiles.join(', '));
  const empty = mkdtempSync(join(tmpdir(), 'rf-naming-'));
  try {
    for (const profile of profiles) {
      const r = cli(['--root', ROOT, '--profile', profile, 'dag', 'all']);
      assert.equal(r.code, 0, r.out);
      const ids = dagIds(r.out);
      assert.ok(ids.length > 10, `${profile}: ${ids.length} ids`);
      const bad = ids.filter((id) => !/^[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9._-]*)?$/.test(id));
      assert.deepEqual(bad.slice(0, 5), [], `${profile}: ids outside [a-z0-9._-] and one @`);
      // Each id typed unquoted: bash passes it on as it is (failglob would stop at a glob).
      const sh = spawnSync('bash', ['-O', 'failglob', '-c', `printf '%s\\n' ${ids.join(' ')}`], { cwd: empty, encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(sh.status, 0, sh.stderr.slice(0, 300));
      assert.deepEqual(sh.stdout.trimEnd().split('\n'), ids);
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('names agree: a built set quality node, its report file and its title; spatial attacks as their ids write them', () => {
  const file = readParamsFile(PARAMS);
  const { nodes } = project.build(resolveProfile(file, 'demo', profileSchema, []).params, 'demo');
  const qualities = nodes.filter((n) => n.stage.name === 'dataset-quality');
  assert.deepEqual(qualities.map((n) => n.id).sort(), ['dataset-quality@ddet', 'dataset-quality@dr', 'dataset-quality@drand']);
  // stages/run/dataset-quality.ts writes `<nameToken(construction)>-quality.*`, titled by the construction.
  for (const n of qualities) assert.equal(n.id, `dataset-quality@${nameToken((n.params as { construction: string }).construction)}`);
  // Q2's and Q3's runs read as their models: no `ResNet-50-ResNet-50`, no upper case.
  const trains = nodes.filter((n) => n.stage.name === 'train').map((n) => n.id);
  assert.ok(trains.includes('train@q2-resnet18-alpha0.5') && trains.includes('train@q1-resnet34'), trains.join(' '));
  assert.ok(trains.includes('train@q3-resnet50-d-stdstar-lr0.05') && trains.includes('train@q3-gresnet-resnet18-dr-std-lr0.05'), trains.join(' '));
  assert.ok(trains.includes('train@fa') && trains.includes('train@ddet'), trains.join(' '));
  for (const grid of GRID_NAMES) assert.equal(attackLabel(grid), grid);
});

test('a store built under the old ids is still cached under the new ones, but for reports that list node ids', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-rename-'));
  try {
    const base = readFileSync(PARAMS, 'utf8').replace(/^default_profile: .*$/m, 'default_profile: rename');
    writeFileSync(
      join(dir, 'params.yaml'),
      `${base}
  rename:
    extends: demo
    jobs: 2
    data:
      synthetic: { seed: 1, trainCount: 64, testCount: 16 }
    robust:
      build: { count: 64 }
      nonRobust: { count: 64 }
    evaluation: { count: 16, batchSize: 64 }
    q2:
      alphas: [0]
      models:
        - { name: ResNet-50, model: { arch: resnet50, width: 0.0625, blocks: [1, 1, 1, 1] } }
      train: { batchSize: 32, epochs: 1 }
      attacks: { ResNet-50: [l2-0.5], default: [l2-0.5] }
    q3:
      datasets: [D]
      augmentations: [std*]
      train: { batchSize: 32, epochs: 1 }
      attacks: [none]
`,
    );
    const targets = ['fig3', 'table1'];
    const old = run(join(ROOT, 'test/helpers/legacy-naming-cli.ts'), ['--root', dir, 'repro', ...targets]);
    assert.equal(old.code, 0, old.out);
    const oldIds = dagIds(run(join(ROOT, 'test/helpers/legacy-naming-cli.ts'), ['--root', dir, 'dag', ...targets]).out);
    assert.ok(oldIds.includes('train@q2-ResNet-50-alpha0') && oldIds.includes('train@q3-ResNet-50-ResNet-50-D-std*-lr0.05'), oldIds.join(' '));

    const dag = cli(['--root', dir, 'dag', ...targets]);
    assert.equal(dag.code, 0, dag.out);
    const ids = dagIds(dag.out);
    assert.ok(ids.includes('train@q2-resnet50-alpha0') && ids.includes('train@q3-resnet50-d-stdstar-lr0.05'), ids.join(' '));
    const renamed = ids.filter((id) => !oldIds.includes(id));
    assert.ok(renamed.length >= 10, `${renamed.length} ids renamed`);

    const dry = cli(['--root', dir, 'repro', ...targets, '--dry-run', '-v']);
    assert.equal(dry.code, 0, dry.out);
    const toRun = [...dry.out.matchAll(/^\s*to run +(\S+)/gm)].map((m) => m[1]!);
    assert.deepEqual(toRun.sort(), ['figure@fig3', 'table@table1'], dry.out);
    // They rerun because their parameters name the renamed nodes (provenance in the reports) ...
    assert.match(dry.out, /to run +figure@fig3[^\n]*\n\s+because param points\b/);
    assert.match(dry.out, /to run +table@table1[^\n]*\n\s+because param cells\b/);
    // ... and every model, dataset and evaluation, renamed or not, is cached under its new id.
    for (const id of ids.filter((i) => !toRun.includes(i))) assert.match(dry.out, new RegExp(`cached +${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`), id);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
