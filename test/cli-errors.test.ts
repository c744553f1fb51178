/**
 * What a researcher meets first when a command is wrong, through the real CLI: one line that says
 * what is wrong and what was meant, exit 2, no stack trace and no screen of help burying it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closest, editDistance } from '../engine/core/suggest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rf-cli-errors-'));
copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: readonly string[]): { code: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline.ts'), '--root', dir, ...args], { encoding: 'utf8' });
  return { code: r.status, lines: `${r.stdout}${r.stderr}`.trim().split('\n') };
}

function userError(args: readonly string[], message: RegExp): void {
  const r = cli(args);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.lines.join('\n')}`);
  assert.match(r.lines.join('\n'), message);
  assert.doesNotMatch(r.lines.join('\n'), /^\s+at |Usage:/m, `${args.join(' ')}: a stack trace or help text\n${r.lines.join('\n')}`);
}

test('edit distance and the nearest candidates', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.deepEqual(closest('fig33', ['fig3', 'table1', 'fig1']), ['fig3', 'fig1']);
  assert.deepEqual(closest('TABLE1', ['table1']), ['table1'], 'case costs nothing');
  assert.deepEqual(closest('zzzz', ['table1']), []);
});

test('usage errors are the last line, exit 2, without the help text', () => {
  for (const args of [
    ['repro', '--jobs', '0'],
    ['repro', '--executor', 'slurmm'],
    ['repro', '--backend', 'cuda'],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 2, r.lines.join('\n'));
    assert.match(r.lines.at(-1)!, /^error: option .* is invalid/);
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
  }
});

test('log takes a run id as log lists it, and says so otherwise', () => {
  userError(['log', 'abc'], /'abc' is not a run id/);
  userError(['log', 'run:999'], /no run 999/);
  userError(['log', '999'], /no run 999/);
});

test('unknown targets and --set keys get a "did you mean", and --set errors say they come from --set', () => {
  userError(['status', 'fig33'], /unknown target 'fig33'; did you mean 'fig3'/);
  userError(['status', 'fig3', '--set', 'evalution.count=5'], /evalution: unknown key; did you mean 'evaluation'\? \(from --set evalution\.count=5\)/);
});

test('show tells a stage, a node that never ran and a near miss apart', () => {
  userError(['show', 'train'], /'train' is a stage \(\d+ nodes in profile demo\); show takes one node/);
  userError(['show', 'train@q1-resnet34'], /node of profile demo that has not run yet \(run it with 'repro train@q1-resnet34'\)/);
  userError(['show', 'Train@q1-ResNet34'], /did you mean 'train@q1-resnet34'/);
  userError(['show', 'resnet18'], /ids that contain it: train@q2-resnet18-alpha0/);
  userError(['show', 'ResNet-18'], /ids that contain it: train@q2-resnet18-alpha0/);
  userError(['show', 'abc'], /too short a digest or key prefix/);
});

test('log records the command as typed, --set included, and keeps dry runs apart', () => {
  const dry = cli(['repro', 'synthetic-dataset', '--dry-run', '--set', 'data.synthetic.seed=3']);
  assert.equal(dry.code, 0, dry.lines.join('\n'));
  const log = cli(['log']);
  assert.equal(log.code, 0);
  assert.doesNotMatch(log.lines.join('\n'), /repro synthetic-dataset/);
  assert.match(log.lines.at(-1)!, /1 dry run not listed: log --dry-runs/);
  const all = cli(['log', '--dry-runs']).lines.join('\n');
  assert.match(all, /dry run +demo +repro synthetic-dataset --dry-run --set data\.synthetic\.seed=3/);
});
