/**
 * Crash safety of a real node, not a toy: a training node of the miniature profile is killed with
 * SIGKILL (its worker and its driver, as a machine that dies would) at seeded random points after
 * fresh checkpoints, several times, then resumed: the model it registers is byte-identical to the
 * one an uninterrupted run registers, and nothing half-done was registered on the way. Where a
 * real Slurm is up, the same node's driver is killed while its job runs: the next driver reattaches
 * to the job and registers the same bytes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { Rng } from '../ml/random.ts';
import { MINI_PROFILE } from './helpers/mini-profile.ts';
import { slurmSkipReason } from './helpers/slurm.ts';
import { waitFor } from './helpers/wait-for.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const TARGET = 'train@q2-resnet18-alpha0';
// Three epochs of four steps, a checkpoint every second step: room for kills between checkpoints.
const ARGS = ['--profile', 'mini', '--set', 'q2.train.epochs=3', '--set', 'q2.train.checkpointEvery=2', '--jobs', '1'];
const KILLS = 3;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SLURM = { cpus: 1, mem: '1500M', minTime: '10', stages: { train: { cpus: 1, mem: '1500M' } } };

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rf-kill-'));
  dirs.push(dir);
  const params = parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8')) as { profiles: Record<string, unknown> };
  params.profiles['mini'] = { ...MINI_PROFILE, slurm: SLURM };
  writeFileSync(join(dir, 'params.yaml'), stringify(params));
  return dir;
}

const cliArgs = (dir: string, extra: readonly string[] = []) => ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, 'repro', TARGET, ...ARGS, ...extra];
const env = { ...process.env, RF_THREADS: '1' };

function query<T>(dir: string, sql: string): T[] {
  const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

const registeredModel = (dir: string) =>
  query<{ digest: string }>(
    dir,
    `SELECT o.digest AS digest FROM nodes n JOIN outputs o ON o.node_key = n.key WHERE n.node_id = '${TARGET}' AND o.name = 'model'`,
  ).map((r) => r.digest);

/** The running training execution's worker pid and checkpoint's mtime, once it has written one newer than `after`. */
function checkpointed(dir: string, afterMs: number): { pid: number; mtime: number } | undefined {
  const running = query<{ node_key: string; pid: number }>(
    dir,
    `SELECT node_key, pid FROM executions WHERE node_id = '${TARGET}' AND status = 'running' ORDER BY id DESC LIMIT 1`,
  )[0];
  if (!running) return undefined;
  const mtime = statSync(join(dir, 'artifacts', 'scratch', running.node_key, 'checkpoint.bin')).mtimeMs;
  return mtime > afterMs ? { pid: running.pid, mtime } : undefined;
}

test(
  'a training node killed with SIGKILL at random points, then resumed, registers the same model bytes as an uninterrupted run',
  { timeout: 900_000 },
  async () => {
    const reference = project();
    const ref = spawnSync(process.execPath, cliArgs(reference), { encoding: 'utf8', env });
    assert.equal(ref.status, 0, ref.stdout + ref.stderr);
    const expected = registeredModel(reference);
    assert.equal(expected.length, 1);

    const dir = project();
    const rng = new Rng(Number(process.env['RF_KILL_SEED'] ?? 26));
    let lastCheckpoint = 0;
    let kills = 0;
    for (let round = 0; round < KILLS; round++) {
      const driver = spawn(process.execPath, cliArgs(dir), { env, detached: true, stdio: 'ignore' });
      const closed = new Promise<number | null>((r) => driver.on('close', (code) => r(code)));
      let done = false;
      void closed.then(() => (done = true));
      // A checkpoint newer than the last round's (so every round makes progress), then a random moment.
      const seen = await waitFor('a fresh checkpoint', () => done || checkpointed(dir, lastCheckpoint), 300_000, 20);
      if (seen === true) break; // the run finished first: nothing left to kill
      lastCheckpoint = seen.mtime;
      await new Promise((r) => setTimeout(r, Math.floor(rng.uniform(0, 400))));
      for (const pid of [seen.pid, -driver.pid!]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone (the round may have ended between the probe and the kill).
        }
      }
      await closed;
      kills++;
      assert.deepEqual(registeredModel(dir), [], `round ${round}: an interrupted training node was registered`);
    }
    assert.ok(kills >= 2, `only ${kills} kill(s) landed before the training finished`);

    const resumed = spawnSync(process.execPath, cliArgs(dir), { encoding: 'utf8', env });
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout + resumed.stderr, /resumed from step [1-9]/);
    assert.deepEqual(registeredModel(dir), expected, `after ${kills} kills the model differs from the uninterrupted run's`);
    console.log(`# ${kills} SIGKILLs, then a resume: the same model digest ${expected[0]!.slice(0, 12)}`);
  },
);

test(
  "the driver killed with SIGKILL while the training node's Slurm job runs: the next driver reattaches and registers the same model bytes",
  { skip: slurmSkipReason(), timeout: 900_000 },
  async () => {
    const reference = project();
    const ref = spawnSync(process.execPath, cliArgs(reference), { encoding: 'utf8', env });
    assert.equal(ref.status, 0, ref.stdout + ref.stderr);
    const dir = project();
    const driver = spawn(process.execPath, cliArgs(dir, ['--executor', 'slurm']), { env, detached: true, stdio: 'ignore' });
    const closed = new Promise((r) => driver.on('close', r));
    // A checkpoint means the job is running on the cluster; only the driver dies.
    await waitFor('the Slurm job to checkpoint', () => checkpointed(dir, 0), 300_000, 50);
    process.kill(-driver.pid!, 'SIGKILL');
    await closed;
    assert.deepEqual(registeredModel(dir), []);
    const again = spawnSync(process.execPath, cliArgs(dir, ['--executor', 'slurm']), { encoding: 'utf8', env });
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /reattached to Slurm job \d+/);
    assert.deepEqual(registeredModel(dir), registeredModel(reference));
  },
);
