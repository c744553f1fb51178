import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockTimeoutError, NodeLocks, type Release } from '../engine/state/lock.ts';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';
import { waitFor } from './helpers/wait-for.ts';

/** Node locks: one holder at a time, whatever the timing; stale locks broken by exactly one waiter; waits that end. */

const dirs: string[] = [];
const spaces: ToyWorkspace[] = [];
after(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  spaces.forEach((w) => w.dispose());
});
function lockDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rf-lock-'));
  dirs.push(d);
  return d;
}
const host = hostname();
const CONTENDER = fileURLToPath(new URL('./fixtures/lock/contender.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pid that is certainly not running: a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function writeForeignLock(dir: string, key: string, holder: { pid: number; host: string }): string {
  const path = join(dir, `${key}.lock`);
  writeFileSync(path, JSON.stringify({ ...holder, runId: 99, nodeId: 'n', since: new Date().toISOString(), token: `t-${Math.random()}` }));
  return path;
}

/** Runs `waiters` acquisitions at once; fails if two ever hold the lock at the same time. */
async function race(locks: NodeLocks[], key: string, holdMs: number): Promise<void> {
  let holding = 0;
  let maxHolding = 0;
  await Promise.all(
    locks.map(async (l, i) => {
      const release: Release = await l.acquire(key, `node-${i}`, () => {}, { pollMs: 5 });
      holding++;
      maxHolding = Math.max(maxHolding, holding);
      await sleep(holdMs);
      holding--;
      await release();
    }),
  );
  assert.equal(maxHolding, 1, 'two acquisitions held the lock at the same time');
}

test('processes taking one lock at the same instants: never two holders (the holder is in the file as soon as it exists)', async () => {
  const dir = lockDir();
  const runs = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', CONTENDER, dir, '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.on('close', r));
      return JSON.parse(out) as { doubles: number; held: number };
    }),
  );
  assert.deepEqual(
    runs.map((r) => r.doubles),
    [0, 0, 0, 0],
    'two processes held the lock at once',
  );
  assert.ok(runs.reduce((a, r) => a + r.held, 0) > 40, 'the lock was taken and released many times');
});

test('waiters racing on a dead holder: exactly one breaks the stale lock, and no two ever hold it', async () => {
  const dir = lockDir();
  const dead = deadPid();
  // On the old lock about one round in 60 let two waiters hold the lock.
  for (let round = 0; round < 120; round++) {
    const key = `dead${round}`;
    writeForeignLock(dir, key, { pid: dead, host });
    const waiters = Array.from({ length: 8 }, (_, i) => new NodeLocks(dir, { pid: process.pid, host, runId: 10 + i }));
    await race(waiters, key, 3);
  }
  assert.deepEqual(readdirSync(dir), [], 'no lock, marker or temporary file is left behind');
});

test('a lock from another host: kept while its holder beats, broken once the heartbeat stops', async () => {
  const dir = lockDir();
  // A live holder on host A with a fast heartbeat; a waiter on host B never takes it.
  const holderA = new NodeLocks(dir, { pid: 424242, host: 'host-a', runId: 1 }, { heartbeatMs: 40 });
  const held = await holderA.tryAcquire('k', 'n');
  assert.ok('release' in held);
  const waiterB = new NodeLocks(dir, { pid: process.pid, host: 'host-b', runId: 2 }, { staleMs: 300 });
  const outcome = await Promise.race([
    waiterB
      .acquire('k', 'n', () => {}, { timeoutMs: 1200, pollMs: 20 })
      .then(
        () => 'taken from a live holder',
        (e: unknown) => (e instanceof LockTimeoutError ? 'timed out' : String(e)),
      ),
    sleep(30_000).then(() => 'no timeout'),
  ]);
  assert.equal(outcome, 'timed out');
  await held.release();

  // A lock whose holder on another host has stopped beating (it crashed, or its node is dead).
  const path = writeForeignLock(dir, 'k2', { pid: 1, host: 'host-a' });
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(path, old, old);
  const t0 = Date.now();
  const got = await Promise.race([waiterB.acquire('k2', 'n', () => {}, { pollMs: 20 }), sleep(30_000).then(() => undefined)]);
  assert.ok(got !== undefined, 'the stale lock from another host was never broken');
  const waited = Date.now() - t0;
  assert.ok(waited >= 250, `broken after ${waited} ms, before the stale time had passed`);
  await got();
});

test('a lock wait ends on abort (Ctrl-C) and on its timeout, naming the holder', async () => {
  const dir = lockDir();
  const holder = new NodeLocks(dir, { pid: process.pid, host, runId: 1 });
  const held = await holder.tryAcquire('k', 'n');
  assert.ok('release' in held);
  const waiter = new NodeLocks(dir, { pid: process.pid, host, runId: 2 });
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 100);
  const aborted = await Promise.race([
    waiter
      .acquire('k', 'n', () => {}, { signal: stop.signal })
      .then(
        () => 'acquired',
        () => 'aborted',
      ),
    sleep(30_000).then(() => 'still waiting'),
  ]);
  // The holder never releases: only the abort can end the wait (the 'still waiting' bound only keeps a regression from hanging).
  assert.equal(aborted, 'aborted');
  await assert.rejects(
    Promise.race([waiter.acquire('k', 'n', () => {}, { timeoutMs: 200 }), sleep(30_000).then(() => 'still waiting')]),
    (e: unknown) => e instanceof LockTimeoutError && /timed out .* lock of n \(held by pid \d+ on /.test(e.message),
  );
  await held.release();
});

test('two drivers started at the same instant on one root, many times: every node executes once', async () => {
  for (let round = 0; round < 4; round++) {
    const w = new ToyWorkspace(baseParams([1, 2]));
    spaces.push(w);
    const [a, b] = await Promise.all([w.run(['repro', 'all', '--executor', 'inline']), w.run(['repro', 'all', '--executor', 'inline'])]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const runs = w.query<{ node_id: string; n: number }>('SELECT node_id, COUNT(*) AS n FROM executions GROUP BY node_id HAVING n > 1');
    assert.deepEqual(runs, [], `round ${round}: nodes executed twice`);
    const trace = w.trace();
    assert.equal(new Set(trace).size, trace.length, `round ${round}: a stage ran twice: ${trace.join(', ')}`);
  }
});

test("Ctrl-C of a run waiting for another run's lock ends it at once", async () => {
  const w = new ToyWorkspace(baseParams([1], 2, { steps: 3, ms: 10 }), 'tsx');
  spaces.push(w);
  // The first run holds slow's lock at a gate that never opens: only Ctrl-C can end the wait.
  const first = await w.spawn(['repro', 'slow'], { ENGINE_TOY_GATE_SLOW: join(w.dir, 'gate') });
  try {
    await waitFor('the first run to hold the lock of slow', () => w.query("SELECT * FROM executions WHERE node_id = 'slow'").length > 0, 60_000, 50);
    const second = await w.spawn(['repro', 'slow']);
    let out = '';
    second.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the second run to wait for the lock', () => /waiting +slow: locked by run 1/.test(out), 60_000, 50);
    second.kill('SIGINT');
    // The bound only keeps a run that ignores Ctrl-C from hanging the suite.
    const code = await Promise.race([new Promise<number | null>((r) => second.on('close', (c) => r(c))), sleep(60_000).then(() => 'still waiting')]);
    if (code === 'still waiting') second.kill('SIGKILL');
    assert.notEqual(code, 'still waiting', 'the waiting run ignored Ctrl-C');
    assert.equal(code, 130);
  } finally {
    first.kill('SIGKILL');
    await new Promise((r) => first.on('close', r));
  }
});
