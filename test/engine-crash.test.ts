import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';
import { waitFor as pollUntil } from './helpers/wait-for.ts';

/** Kills, crashes and concurrent runs: nothing half-done is ever registered, and work resumes. */

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));
function workspace(yaml: string): ToyWorkspace {
  const w = new ToyWorkspace(yaml, 'tsx');
  spaces.push(w);
  return w;
}
/**
 * Whether a process still runs. A zombie counts as gone: an orphaned worker is reparented, and
 * where the new parent is slow to reap it, it lingers as a zombie that kill(0) still finds.
 */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The pid of the worker running the slow node. */
const slowWorker = (w: ToyWorkspace): number | undefined =>
  w.query<{ pid: number }>("SELECT pid FROM executions WHERE node_id = 'slow' AND status = 'running'")[0]?.pid;

const waitFor = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> => pollUntil(what, probe, timeoutMs, 50);

const slowParams = baseParams([1], 2, { steps: 40, ms: 100 });

/** The checkpointed count of the running slow node, once it has made some progress. */
function progressed(w: ToyWorkspace, atLeast: number): number | undefined {
  const key = w.query<{ node_key: string }>("SELECT node_key FROM executions WHERE node_id = 'slow' ORDER BY id DESC LIMIT 1")[0]?.node_key;
  if (!key) return undefined;
  const n = Number(readFileSync(`${w.dir}/artifacts/scratch/${key}/count`, 'utf8'));
  return n >= atLeast ? n : undefined;
}

test('kill -9 of the driver mid-node: rerun resumes, matches an uninterrupted run, registers no orphan', async () => {
  const reference = workspace(slowParams);
  const ref = await reference.run(['repro', 'slow']);
  assert.equal(ref.code, 0, ref.stderr);

  // The gate (never opened in this run) holds the worker after its first step, so it can only
  // stop by noticing that its driver died: a worker that kept going would never exit.
  const w = workspace(slowParams);
  const driver = await w.spawn(['repro', 'slow'], { ENGINE_TOY_GATE_SLOW: join(w.dir, 'gate') });
  await waitFor('slow to checkpoint', () => progressed(w, 1));
  const worker = slowWorker(w)!;
  assert.ok(worker > 0);
  driver.kill('SIGKILL');
  await new Promise((r) => driver.on('close', r));
  await waitFor('the orphaned worker to exit', () => !running(worker));
  assert.equal(progressed(w, 0), 1, 'the worker went past its gate');
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'slow'").length, 0, 'an interrupted node must not be registered');

  const again = await w.run(['repro', 'slow']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const statuses = w.query<{ status: string; metrics: string | null }>("SELECT status, metrics FROM executions WHERE node_id = 'slow' ORDER BY id");
  assert.deepEqual(
    statuses.map((s) => s.status),
    ['interrupted', 'succeeded'],
  );
  assert.equal(JSON.parse(statuses[1]!.metrics!).resumedFrom, 1, 'the rerun resumed from the checkpoint');
  assert.deepEqual(w.registered()['slow'], reference.registered()['slow']);
});

test('kill -9 of a worker mid-node: the node fails cleanly, and the next repro resumes and completes', async () => {
  const w = workspace(slowParams);
  // The gate holds the worker after its first step, so it is surely mid-node when killed.
  const driver = await w.spawn(['repro', 'slow'], { ENGINE_TOY_GATE_SLOW: join(w.dir, 'gate') });
  let out = '';
  driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('slow to checkpoint', () => progressed(w, 1));
  process.kill(slowWorker(w)!, 'SIGKILL');
  const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
  assert.equal(code, 1);
  assert.match(out, /FAILED +slow[\s\S]*worker killed by SIGKILL/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'slow'").length, 0);
  const again = await w.run(['repro', 'slow']);
  assert.equal(again.code, 0, again.stdout);
  const last = w.query<{ metrics: string }>("SELECT metrics FROM executions WHERE node_id = 'slow' AND status = 'succeeded'")[0]!;
  assert.equal(JSON.parse(last.metrics).resumedFrom, 1);
});

test('a failing stage is reported and never registered; --keep-going still builds independent nodes', async () => {
  const w = workspace(baseParams([1, 2]).replace('  tripled:', '    fail: { mode: throw }\n  tripled:'));
  const r = await w.run(['repro', 'failing', '--keep-going']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED +fail[\s\S]*deliberate failure/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'fail'").length, 0);
  assert.ok(w.registered()['sum@scaled'], 'independent nodes completed with --keep-going');

  w.writeParams(baseParams([1, 2]).replace('  tripled:', '    fail: { mode: exit }\n  tripled:'));
  const died = await w.run(['repro', 'fail']);
  assert.equal(died.code, 1);
  assert.match(died.stdout, /worker exited with code 3/);

  w.writeParams(baseParams([1, 2]).replace('  tripled:', '    fail: { mode: no-output }\n  tripled:'));
  const lazy = await w.run(['repro', 'fail']);
  assert.match(lazy.stdout, /did not write its output 'out'/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'fail'").length, 0);
});

test('two concurrent runs never execute the same node twice', async () => {
  // The first run's slow node waits at a gate; the second starts once it runs, and the gate
  // opens only after the second has said it waits for the first's lock.
  const w = workspace(baseParams([1], 2, { steps: 10, ms: 10 }));
  const gateFile = join(w.dir, 'gate');
  const first = w.run(['repro', 'slow'], { ENGINE_TOY_GATE_SLOW: gateFile });
  await waitFor('the first run to start slow', () => progressed(w, 1));
  const second = await w.spawn(['repro', 'slow']);
  let out = '';
  second.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const secondDone = new Promise<number | null>((r) => second.on('close', (c) => r(c)));
  try {
    await waitFor("the second run to wait for the first's lock", () => /waiting +slow: locked by run/.test(out));
  } finally {
    writeFileSync(gateFile, '');
  }
  const a = await first;
  assert.equal(a.code, 0, a.stdout + a.stderr);
  assert.equal(await secondDone, 0, out);
  assert.match(out, /\b0 ran\b/);
  assert.equal(w.query("SELECT * FROM executions WHERE node_id = 'slow'").length, 1);
  assert.equal(w.trace().filter((l) => l.startsWith('slow start')).length, 1);
});
