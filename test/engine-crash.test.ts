import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  const w = workspace(slowParams);
  const driver = await w.spawn(['repro', 'slow']);
  await waitFor('slow to checkpoint', () => progressed(w, 3));
  driver.kill('SIGKILL');
  await new Promise((r) => driver.on('close', r));
  // The worker notices its driver is gone and stops: the checkpoint stops moving.
  const frozen = await waitFor('worker to stop', () => {
    const a = progressed(w, 0)!;
    return a;
  });
  await sleep(600);
  assert.equal(progressed(w, 0), frozen, 'orphan worker kept running after its driver died');
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'slow'").length, 0, 'an interrupted node must not be registered');

  const again = await w.run(['repro', 'slow']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const statuses = w.query<{ status: string; metrics: string | null }>("SELECT status, metrics FROM executions WHERE node_id = 'slow' ORDER BY id");
  assert.deepEqual(
    statuses.map((s) => s.status),
    ['interrupted', 'succeeded'],
  );
  assert.ok(JSON.parse(statuses[1]!.metrics!).resumedFrom >= 3, 'the rerun resumed from the checkpoint');
  assert.deepEqual(w.registered()['slow'], reference.registered()['slow']);
});

test('kill -9 of a worker mid-node: the node fails cleanly, and the next repro resumes and completes', async () => {
  const w = workspace(slowParams);
  const driver = await w.spawn(['repro', 'slow']);
  let out = '';
  driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('slow to checkpoint', () => progressed(w, 2));
  const pid = w.query<{ pid: number }>("SELECT pid FROM executions WHERE node_id = 'slow' AND status = 'running'")[0]!.pid;
  process.kill(pid, 'SIGKILL');
  const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
  assert.equal(code, 1);
  assert.match(out, /FAILED +slow[\s\S]*worker killed by SIGKILL/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'slow'").length, 0);
  const again = await w.run(['repro', 'slow']);
  assert.equal(again.code, 0, again.stdout);
  const last = w.query<{ metrics: string }>("SELECT metrics FROM executions WHERE node_id = 'slow' AND status = 'succeeded'")[0]!;
  assert.ok(JSON.parse(last.metrics).resumedFrom >= 2);
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
  const w = workspace(baseParams([1], 2, { steps: 10, ms: 100 }));
  const [a, b] = await Promise.all([
    w.run(['repro', 'slow']),
    (async () => {
      await sleep(300);
      return w.run(['repro', 'slow']);
    })(),
  ]);
  assert.equal(a.code, 0, a.stdout + a.stderr);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.equal(w.query("SELECT * FROM executions WHERE node_id = 'slow'").length, 1);
  assert.equal(w.trace().filter((l) => l.startsWith('slow start')).length, 1);
});
