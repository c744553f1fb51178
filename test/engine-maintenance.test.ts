import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { collectGarbage } from '../engine/state/maintenance.ts';
import type { QueueEntry } from '../engine/exec/slurm/commands.ts';
import { openWorkspace } from '../engine/state/workspace.ts';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';

/** verify and gc: they remove exactly what is damaged or garbage, nothing a running node may be reading or resuming from. */

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));

async function views(w: ToyWorkspace): Promise<Record<string, string>> {
  // Materialise the folder views of both sum reports, as a downstream node reading them would.
  const ws = await openWorkspace(w.dir);
  try {
    const out: Record<string, string> = {};
    for (const node of ['sum@scaled', 'sum@parity']) {
      const o = w.query<{ digest: string }>(
        "SELECT o.digest FROM outputs o JOIN nodes n ON n.key = o.node_key WHERE n.node_id = ? AND o.name = 'report'",
        node,
      )[0]!;
      out[node] = await ws.store.materialize({ digest: o.digest, kind: 'dir' });
    }
    return out;
  } finally {
    ws.close();
  }
}

test('verify removes only the folder views that hold a damaged blob', async () => {
  const w = new ToyWorkspace(baseParams([1, 2]));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'all', '--executor', 'inline'])).code, 0);
  const v = await views(w);
  // Damage a blob only sum@scaled's report holds.
  const treeBlob = join(v['sum@scaled']!, 'values.csv');
  writeFileSync(treeBlob, 'tampered\n');
  const r = await w.run(['verify']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /corrupt +sum@scaled:report/);
  assert.ok(!existsSync(v['sum@scaled']!), 'the view with the bad blob stays readable');
  assert.ok(existsSync(join(v['sum@parity']!, 'values.csv')), 'an intact view (a running node may read it) was deleted');
});

test('gc removes leftover scratch folders and half-built views, keeps checkpoints to resume and anything locked', async () => {
  const w = new ToyWorkspace(baseParams([1]));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'all', '--executor', 'inline'])).code, 0);
  const art = join(w.dir, 'artifacts');
  const doneKey = w.query<{ key: string }>("SELECT key FROM nodes WHERE node_id = 'gen@n1'")[0]!.key;
  const unfinished = 'f'.repeat(64);
  const running = 'e'.repeat(64);
  for (const k of [doneKey, unfinished, running]) {
    mkdirSync(join(art, 'scratch', k), { recursive: true });
    writeFileSync(join(art, 'scratch', k, 'checkpoint.bin'), 'x'.repeat(1000));
  }
  mkdirSync(join(art, 'locks'), { recursive: true });
  writeFileSync(join(art, 'locks', `${running}.lock`), JSON.stringify({ pid: process.pid, host: 'h', runId: 1, nodeId: 'n', since: '' }));
  const half = join(art, 'trees', '.tmp-0123456789ab-deadbeef');
  mkdirSync(half, { recursive: true });
  const old = new Date(Date.now() - 2 * 3_600_000);
  utimesSync(half, old, old);

  const dry = await w.run(['gc']);
  assert.match(dry.stdout, /would remove 0 blobs, 1 folder views and 1 scratch folders .*kept 2 scratch folders/);
  assert.ok(existsSync(join(art, 'scratch', doneKey)), 'a dry run deleted something');
  assert.match((await w.run(['gc', '--apply'])).stdout, /removed 0 blobs, 1 folder views and 1 scratch folders/);
  assert.ok(!existsSync(join(art, 'scratch', doneKey)) && !existsSync(half));
  assert.ok(existsSync(join(art, 'scratch', unfinished)), 'checkpoints of an unfinished node were deleted without --scratch');
  assert.match((await w.run(['gc', '--apply', '--scratch'])).stdout, /removed 0 blobs, 0 folder views and 1 scratch folders/);
  assert.ok(!existsSync(join(art, 'scratch', unfinished)));
  assert.ok(existsSync(join(art, 'scratch', running)), 'the scratch folder of a locked (running) node was deleted');
});

test("gc's Slurm job folders: kept while a driver on any host holds the node's lock or the job is queued, or when squeue fails; removed otherwise", async () => {
  const w = new ToyWorkspace(baseParams([1]));
  spaces.push(w);
  const art = join(w.dir, 'artifacts');
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const lock = (key: string, host: string, pid: number, ageMs = 0) => {
    const path = join(art, 'locks', `${key}.lock`);
    mkdirSync(join(art, 'locks'), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid, host, runId: 1, nodeId: 'n', since: '' }));
    const t = new Date(Date.now() - ageMs);
    utimesSync(path, t, t);
  };
  const folder = (key: string, jobId: string) => {
    const dir = join(art, 'slurm', 'jobs', `${key.slice(0, 16)}-0000abcd`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'task.json'), '{}');
    writeFileSync(join(dir, 'job-id'), `${jobId}\n`);
    return dir;
  };
  const k = (c: string) => c.repeat(64);
  lock(k('a'), 'login2', 1); // another host's driver, heartbeat fresh
  const a = folder(k('a'), '11');
  lock(k('b'), 'login2', 1, 120_000); // another host's driver whose heartbeat stopped two minutes ago
  const b = folder(k('b'), '12');
  lock(k('c'), hostname(), deadPid); // this host's driver, killed
  const c = folder(k('c'), '13');
  const d = folder(k('d'), '14'); // no driver, job still running
  const queue = new Map<string, QueueEntry>([
    ['11', { id: '11', state: 'RUNNING', reason: 'None' }],
    ['12', { id: '12', state: 'COMPLETED', reason: 'None' }],
    ['14', { id: '14', state: 'RUNNING', reason: 'None' }],
  ]);
  const ws = await openWorkspace(w.dir);
  try {
    const dry = await collectGarbage(ws, false, { queue: async () => queue });
    assert.deepEqual([dry.jobFolders, dry.jobFoldersKept], [2, 2]);
    assert.ok(existsSync(b) && existsSync(c), 'a dry run deleted a job folder');
    const r = await collectGarbage(ws, true, { queue: async () => queue });
    assert.deepEqual([r.jobFolders, r.jobFoldersKept], [2, 2]);
    assert.deepEqual([a, b, c, d].map(existsSync), [true, false, false, true]);
    // The controller does not answer: gone and queued cannot be told apart, so nothing that names a job goes.
    queue.delete('14');
    const down = await collectGarbage(ws, true, {
      queue: async () => {
        throw new Error('squeue exit 1: Unable to contact slurm controller');
      },
    });
    assert.deepEqual([down.jobFolders, down.jobFoldersKept], [0, 2]);
    assert.match(down.queueError ?? '', /Unable to contact/);
    assert.ok(existsSync(d));
  } finally {
    ws.close();
  }
});

test("gc's Slurm job folders without a job id (the driver died before recording it): kept while a job writing to the manifest's output file is queued, removed otherwise", async () => {
  const w = new ToyWorkspace(baseParams([1]));
  spaces.push(w);
  const art = join(w.dir, 'artifacts');
  const manifest = (output?: string) =>
    JSON.stringify({ format: 1, task: {}, inputRefs: {}, outputKinds: {}, artifactsDir: art, env: {}, ...(output ? { output } : {}) });
  const folder = (key: string, text: string) => {
    const dir = join(art, 'slurm', 'jobs', `${key.repeat(16)}-0000abcd`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'task.json'), text);
    return dir;
  };
  const log = (n: string) => join(art, 'logs', `${n}.log`);
  const queued = folder('a', manifest(log('a'))); // its job is pending
  const ended = folder('b', manifest(log('b'))); // its job finished
  const never = folder('c', manifest(log('c'))); // sbatch never answered: no job writes there
  const old = folder('d', manifest()); // written before manifests named their output
  const byOutput = new Map<string, QueueEntry>([
    [log('a'), { id: '21', state: 'PENDING', reason: '' }],
    [log('b'), { id: '22', state: 'COMPLETED', reason: '' }],
  ]);
  let asked = 0;
  const ws = await openWorkspace(w.dir);
  try {
    const r = await collectGarbage(ws, true, {
      queue: async () => new Map(),
      queueByOutput: async () => (asked++, byOutput),
    });
    assert.deepEqual([r.jobFolders, r.jobFoldersKept], [3, 1]);
    assert.deepEqual([queued, ended, never, old].map(existsSync), [true, false, false, false]);
    assert.equal(asked, 1, 'one squeue for all the folders');
    // The controller does not answer: a folder that may have a job is kept.
    const down = await collectGarbage(ws, true, {
      queue: async () => new Map(),
      queueByOutput: async () => {
        throw new Error('squeue exit 1: Unable to contact slurm controller');
      },
    });
    assert.deepEqual([down.jobFolders, down.jobFoldersKept], [0, 1]);
    assert.match(down.queueError ?? '', /Unable to contact/);
  } finally {
    ws.close();
  }
});
