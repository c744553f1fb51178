import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CodeChangedError, loadedCode, recordLoadedCode } from '../engine/run/code-check.ts';
import type { Project } from '../engine/core/project.ts';
import { runStage } from '../engine/run/stage-runner.ts';
import type { NodeTask } from '../engine/run/worker-protocol.ts';
import { ToyWorkspace, baseParams, copyToyProject } from './helpers/toy-workspace.ts';
import { waitFor } from './helpers/wait-for.ts';

/** Node keys cover all the code that computes a result, and a worker never runs other code than its key names. */

const spaces: ToyWorkspace[] = [];
const dirs: string[] = [];
after(() => {
  spaces.forEach((w) => w.dispose());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

test('editing a helper two imports below a stage reruns exactly the nodes of that stage, through the real CLI', async () => {
  const src = copyToyProject();
  const w = new ToyWorkspace(baseParams([1, 2]), 'tsx', join(src, 'cli.ts'));
  spaces.push(w);
  const first = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const before = w.executions();

  // Same numbers, other code: the scale nodes rerun, and their identical bytes stop the cascade.
  appendFileSync(join(src, 'lib', 'arith.ts'), '\n// an edit that changes no result\n');
  const dry = await w.run(['repro', 'all', '--dry-run', '--executor', 'inline']);
  assert.match(dry.stdout, /to run +scale@n1\s+because code of stage 'scale' changed/);
  const again = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const ran = w.query<{ node_id: string }>('SELECT node_id FROM executions WHERE id > ? ORDER BY node_id', before).map((r) => r.node_id);
  assert.deepEqual(ran, ['scale@n1', 'scale@n2']);
});

test("files no import reaches but the project names as a stage's extra code (native kernels) are in its key", async () => {
  const src = copyToyProject();
  const w = new ToyWorkspace(baseParams([1]), 'tsx', join(src, 'cli.ts'));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'all', '--executor', 'inline'])).code, 0);
  appendFileSync(join(src, 'kernel.txt'), 'a kernel fix\n');
  const dry = await w.run(['repro', 'all', '--dry-run', '-v', '--executor', 'inline']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /to run +scale@n1\s+because code of stage 'scale' changed/);
  assert.match(dry.stdout, /cached +gen@n1/);
  assert.match(dry.stdout, /cached +parity@n1/);
});

test('the robustfeat project puts the native kernel sources into the code of every stage that can load the addon, and only those', async () => {
  const { project } = await import('../experiments/project.ts');
  const digests = loadedCode(project as Project);
  const byStage = Object.fromEntries(project.stages.map((s) => [s.name, digests.of(s.module).files]));
  for (const name of ['train', 'evaluate', 'build-dr', 'build-dnr']) {
    assert.ok(byStage[name]!.includes('native/src/conv.cc') && byStage[name]!.includes('native/build.mjs'), `${name} misses the native sources`);
  }
  // snapshot copies a weights file: its code no longer reaches the train stage's (only the file name).
  for (const name of ['fetch-cifar10', 'fetch-robust-datasets', 'synthetic-dataset', 'table', 'figure', 'snapshot']) {
    assert.ok(!byStage[name]!.some((f) => f.startsWith('native/')), `${name} (no tensors) depends on the native sources`);
  }
});

test('a source edited while a node runs: the node is not registered under the key of the code it was planned with', async () => {
  const src = copyToyProject();
  const w = new ToyWorkspace(baseParams([1], 2, { steps: 3, ms: 10 }), 'tsx', join(src, 'cli.ts'));
  spaces.push(w);
  // The gate holds slow after its first step until the edit is made: it cannot finish first.
  const gateFile = join(w.dir, 'gate');
  const driver = await w.spawn(['repro', 'slow'], { ENGINE_TOY_GATE_SLOW: gateFile });
  let out = '';
  driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // Once slow has checkpointed (its stage is running), edit the file that declares it.
  await waitFor(
    'slow to checkpoint',
    () => {
      const key = w.query<{ node_key: string }>("SELECT node_key FROM executions WHERE node_id = 'slow'")[0]?.node_key;
      return key !== undefined && existsSync(join(w.dir, 'artifacts', 'scratch', key, 'count'));
    },
    60_000,
    50,
  );
  appendFileSync(join(src, 'stages.ts'), '\n// edited during the run\n');
  writeFileSync(gateFile, '');
  const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
  assert.equal(code, 1, out);
  assert.match(out, /not registering slow: code of stage 'slow' changed on disk while it ran \(.*stages\.ts/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'slow'").length, 0, 'registered under the key of code that did not produce it');
  // The next run plans with the current code and completes.
  const again = await w.run(['repro', 'slow']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

test('runStage refuses a key computed for other code than the process loaded, or than is on disk now', async () => {
  const src = copyToyProject();
  const { project } = (await import(pathToFileURL(join(src, 'project.ts')).href)) as { project: Project };
  recordLoadedCode(project);
  const scale = project.stages.find((s) => s.name === 'scale')!;
  const loaded = loadedCode(project).of(scale.module).digest;
  const dir = mkdtempSync(join(tmpdir(), 'rf-code-'));
  dirs.push(dir);
  const input = join(dir, 'in');
  appendFileSync(input, '4\n');
  const task = (codeDigest: string, name: string): NodeTask => ({
    projectModule: project.module,
    stage: 'scale',
    nodeId: 'scale@n4',
    nodeKey: 'k',
    codeDigest,
    params: { factor: 3 },
    inputs: { src: input },
    outputs: { out: join(dir, name) },
    scratchDir: join(dir, `scratch-${name}`),
  });
  await runStage(project, task(loaded, 'ok'), () => {});
  assert.equal(readFileSync(join(dir, 'ok'), 'utf8'), '12\n');

  // The driver planned with code this process did not load.
  await assert.rejects(
    runStage(project, task('0'.repeat(64), 'planned-other'), () => {}),
    (e: unknown) => e instanceof CodeChangedError && /than this worker loaded/.test(e.message),
  );
  // A helper changed on disk after this process loaded the project: the stage would import other code lazily.
  appendFileSync(join(src, 'lib', 'arith.ts'), '\n// edited after loading\n');
  await assert.rejects(
    runStage(project, task(loaded, 'edited'), () => {}),
    (e: unknown) => e instanceof CodeChangedError && /since this worker loaded it \(.*lib\/arith\.ts\)/.test(e.message),
  );
});
