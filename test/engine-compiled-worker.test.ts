/**
 * The compiled worker (engine/fast-start/bundle.ts buildCompiledWorker, engine/fast-start/compiled-worker.ts): the local
 * executor forks it while its sources are unchanged, it computes what the tsx worker computes, a
 * source edited after the build sends the next workers back to tsx, and a stale one started
 * anyway refuses to run. Slurm jobs run the compiled Slurm worker the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildCompiledWorker } from '../engine/fast-start/bundle.ts';
import { compiledWorkerFiles, freshCompiledWorker } from '../engine/fast-start/compiled-worker.ts';
import { STALE_EXIT } from '../engine/fast-start/launcher.ts';
import { codeRoot } from '../engine/core/source-digest.ts';
import { SlurmToyWorkspace, slurmParams, slurmSkipReason } from './helpers/slurm.ts';
import { ToyWorkspace, baseParams, copyToyProject } from './helpers/toy-workspace.ts';

const slurmSkip = slurmSkipReason();

const spaces: ToyWorkspace[] = [];
/** The compiled workers this file builds (in the checkout's dist/workers/, named by the copies' URLs). */
const built: Array<ReturnType<typeof compiledWorkerFiles>> = [];
after(() => {
  spaces.forEach((w) => w.dispose());
  for (const f of built)
    for (const path of [f.launcher, f.spec, f.entry, f.launcher.replace(/\.mjs$/, '.bundle.cjs'), `${f.launcher.replace(/\.mjs$/, '.bundle.cjs')}.cache`])
      rmSync(path, { force: true });
});

/** The `worker` fact each execution recorded, by node id. */
function workers(w: ToyWorkspace, afterId = 0): Record<string, string> {
  const rows = w.query<{ node_id: string; environment: string }>('SELECT node_id, environment FROM executions WHERE id > ? ORDER BY id', afterId);
  return Object.fromEntries(rows.map((r) => [r.node_id, (JSON.parse(r.environment) as { worker?: string }).worker ?? 'none']));
}

/** Every execution of `w` after `afterId` ran in a `kind` worker, and at least `min` did. */
function assertRanIn(w: ToyWorkspace, kind: 'compiled' | 'tsx', min = 1, afterId = 0): void {
  const ran = workers(w, afterId);
  assert.ok(Object.keys(ran).length >= min, `${min} or more executions expected: ${JSON.stringify(ran)}`);
  assert.ok(
    Object.values(ran).every((k) => k === kind),
    JSON.stringify(ran),
  );
}

test(
  'nodes run in the compiled worker while it is fresh, with the digests the tsx worker gives; an edit sends them back to tsx',
  { timeout: 240_000 },
  async () => {
    const src = copyToyProject();
    const projectModule = pathToFileURL(join(src, 'project.ts')).href;
    const params = baseParams([1, 2]);

    // Reference: the tsx worker, on its own root.
    const ref = new ToyWorkspace(params, 'tsx', join(src, 'cli.ts'));
    spaces.push(ref);
    const r0 = await ref.run(['repro', 'all', '--jobs', '2']);
    assert.equal(r0.code, 0, r0.stdout + r0.stderr);
    assertRanIn(ref, 'tsx', 3);

    assert.equal(freshCompiledWorker(projectModule), undefined, 'nothing built yet');
    built.push(compiledWorkerFiles(projectModule));
    await buildCompiledWorker(projectModule, codeRoot(projectModule));
    assert.equal(freshCompiledWorker(projectModule), compiledWorkerFiles(projectModule).launcher);
    assert.equal(freshCompiledWorker(projectModule, 'local', false), undefined, 'the caller asks for tsx');
    process.env['RF_COMPILED_WORKER'] = '0';
    try {
      assert.equal(freshCompiledWorker(projectModule), undefined, 'RF_COMPILED_WORKER=0 asks for tsx');
    } finally {
      delete process.env['RF_COMPILED_WORKER'];
    }

    const w = new ToyWorkspace(params, 'tsx', join(src, 'cli.ts'));
    spaces.push(w);
    const r1 = await w.run(['repro', 'all', '--jobs', '2']);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assertRanIn(w, 'compiled', 3);
    assert.deepEqual(w.registered(), ref.registered(), 'the same outputs, byte for byte');

    // --isolate: a fresh compiled process per node, same results.
    const iso = new ToyWorkspace(params, 'tsx', join(src, 'cli.ts'));
    spaces.push(iso);
    const r2 = await iso.run(['repro', 'all', '--isolate']);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assertRanIn(iso, 'compiled', 3);
    assert.deepEqual(iso.registered(), ref.registered());

    // An edit to a source the worker holds: the compiled worker is stale, so tsx runs the nodes.
    appendFileSync(join(src, 'lib', 'arith.ts'), '\n// an edit that changes no result\n');
    assert.equal(freshCompiledWorker(projectModule), undefined, 'stale after the edit');
    const before = w.query<{ id: number }>('SELECT MAX(id) AS id FROM executions')[0]!.id;
    const r3 = await w.run(['repro', 'all', '--jobs', '2']);
    assert.equal(r3.code, 0, r3.stdout + r3.stderr);
    // The edited stage's nodes rerun, in tsx workers.
    assertRanIn(w, 'tsx', 1, before);

    // Started anyway, a stale compiled worker exits with STALE_EXIT instead of running.
    const stale = spawnSync(process.execPath, [compiledWorkerFiles(projectModule).launcher, projectModule], { encoding: 'utf8' });
    assert.equal(stale.status, STALE_EXIT, stale.stderr);
    assert.match(stale.stderr, /lib\/arith\.ts changed since this compiled worker was built/);
  },
);

test('Slurm jobs run the compiled Slurm worker while it is fresh, with the digests of tsx jobs', { skip: slurmSkip, timeout: 600_000 }, async () => {
  const src = copyToyProject('slurm-toy');
  const projectModule = pathToFileURL(join(src, 'project.ts')).href;
  const params = slurmParams('', undefined, [1, 2]);
  const ref = new SlurmToyWorkspace(params, join(src, 'cli.ts'));
  spaces.push(ref);
  const r0 = await ref.run(['repro', 'all', '--jobs', '8']);
  assert.equal(r0.code, 0, r0.stdout + r0.stderr);
  assertRanIn(ref, 'tsx', 3);

  built.push(compiledWorkerFiles(projectModule, 'slurm'));
  await buildCompiledWorker(projectModule, codeRoot(projectModule), 'slurm');
  assert.equal(freshCompiledWorker(projectModule, 'slurm'), compiledWorkerFiles(projectModule, 'slurm').launcher);
  const w = new SlurmToyWorkspace(params, join(src, 'cli.ts'));
  spaces.push(w);
  const r1 = await w.run(['repro', 'all', '--jobs', '8']);
  assert.equal(r1.code, 0, r1.stdout + r1.stderr);
  assertRanIn(w, 'compiled', 3);
  assert.deepEqual(w.registered(), ref.registered());
});
