import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { compiledWorkerFiles, freshCompiledWorker } from '../engine/fast-start/compiled-worker.ts';

/**
 * A checkout copied with `cp -a` (or moved) keeps its dist/ with the sources' sizes and mtimes. Its
 * compiled CLI and workers must run against the copy's own sources: a code edit in the copy reruns
 * what it changes, and the original is unaffected. (The launch specs once named the original's
 * folder, so a copy ran the original's code and served its results as current.)
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'rf-copied-'));
after(() => rmSync(base, { recursive: true, force: true }));

function cli(root: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string; compiled: boolean } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'pipeline.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RF_CODE_CACHE_DEBUG: '1', RF_COMPILED_CLI: '1' },
    timeout: 300_000,
  });
  // The launcher says how it used the code cache only when the compiled bundle runs.
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, compiled: /code cache: /.test(r.stderr) };
}

/** A checkout of the tracked files (timestamps kept) sharing this one's node_modules, built. */
function makeBuiltCheckout(root: string): void {
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    cpSync(join(ROOT, f), join(root, f), { preserveTimestamps: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'engine/fast-start/bundle.ts', 'experiments/cli.ts', 'pipeline', '--worker', 'experiments/project.ts'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
}

test('a copied checkout runs its own sources: an edited stage reruns there and only there', { timeout: 900_000 }, () => {
  const original = join(base, 'original');
  makeBuiltCheckout(original);
  const ran = cli(original, ['repro', 'synthetic-dataset']);
  assert.equal(ran.status, 0, ran.stderr);

  const copy = join(base, 'copy');
  cpSync(original, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });

  const before = cli(copy, ['status', 'synthetic-dataset']);
  assert.equal(before.status, 0, before.stderr);
  assert.ok(before.compiled, `an unchanged copy runs its compiled CLI: ${before.stderr}`);
  assert.match(before.stdout, /1 cached, 0 to run/);

  appendFileSync(join(copy, 'stages', 'synthetic-dataset.ts'), '\n// edited in the copy\n');
  const after = cli(copy, ['status', 'synthetic-dataset']);
  assert.equal(after.status, 0, after.stderr);
  assert.ok(!after.compiled, "the copy's compiled CLI is stale once one of its sources changed");
  assert.match(after.stdout, /0 cached, 1 to run/);
  assert.match(after.stdout, /code of stage 'synthetic-dataset' changed/);

  const untouched = cli(original, ['status', 'synthetic-dataset']);
  assert.ok(untouched.compiled, untouched.stderr);
  assert.match(untouched.stdout, /1 cached, 0 to run/);

  // A start-up edit of the CLI itself runs in the copy (the original's bundle would not print it).
  appendFileSync(join(copy, 'experiments', 'cli.ts'), "\nprocess.stderr.write('copy-edit-ran\\n');\n");
  assert.match(cli(copy, ['status', 'synthetic-dataset']).stderr, /copy-edit-ran/);
});

test("a copied checkout's compiled workers are its own, fresh until one of its sources changes", { timeout: 300_000 }, () => {
  const original = join(base, 'workers-original');
  makeBuiltCheckout(original);
  const copy = join(base, 'workers-copy');
  cpSync(original, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const project = pathToFileURL(join(copy, 'experiments', 'project.ts')).href;
  assert.equal(freshCompiledWorker(project), compiledWorkerFiles(project).launcher);
  assert.ok(compiledWorkerFiles(project).launcher.startsWith(copy), 'the worker is looked up in the copy');
  appendFileSync(join(copy, 'engine', 'run', 'worker.ts'), '\n// edited in the copy\n');
  assert.equal(freshCompiledWorker(project), undefined, "the copy's worker is stale after an edit of its own sources");
  assert.equal(
    freshCompiledWorker(pathToFileURL(join(original, 'experiments', 'project.ts')).href),
    compiledWorkerFiles(pathToFileURL(join(original, 'experiments', 'project.ts')).href).launcher,
  );
});
