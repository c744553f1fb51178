import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SlurmToyWorkspace, slurmParams, slurmSkipReason } from './helpers/slurm.ts';
import { ToyWorkspace, baseParams, copyToyProject } from './helpers/toy-workspace.ts';
import { waitFor as pollUntil } from './helpers/wait-for.ts';

/**
 * The Slurm executor through the real CLI and a real Slurm (single node in CI, .ci/slurm-up.sh):
 * same artifacts as the local executor, nothing resubmitted, reattach after the driver is killed,
 * Slurm-state failures named with their log, and a corrupted job output refused.
 */

const skip = slurmSkipReason();
/** An execution whose job sbatch has accepted: its handle has the job id, not the provisional `pending:` one recorded before. */
const HAS_JOB_ID = "handle GLOB '[0-9]*'";
const SUBMITTED = `SELECT handle FROM executions WHERE ${HAS_JOB_ID}`;
const spaces: ToyWorkspace[] = [];
const drivers: ChildProcess[] = [];
// A failed assertion must not leave a driver waiting on its jobs (the test process would never end).
after(() => {
  for (const d of drivers) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  spaces.forEach((w) => w.dispose());
});

function slurmSpace(extra = '', slurm?: string, values?: number[], cli?: string): SlurmToyWorkspace {
  const w = new SlurmToyWorkspace(slurmParams(extra, slurm, values), cli);
  const spawn = w.spawn.bind(w);
  w.spawn = async (args) => {
    const child = await spawn(args);
    drivers.push(child);
    return child;
  };
  spaces.push(w);
  return w;
}

const waitFor = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 90_000): Promise<T> => pollUntil(what, probe, timeoutMs, 200);

const jobFolder = (w: ToyWorkspace, handle: string) => join(w.dir, 'artifacts', handle.split(':').slice(1).join(':'));

// About 4 minutes on an idle 2-core machine; the limit only guards against a hang.
describe('Slurm executor on a real Slurm', { skip, timeout: 900_000 }, () => {
  test("repro all through Slurm gives the local executor's digests; a second repro submits nothing", async () => {
    const local = new ToyWorkspace(baseParams([1, 2, 3]), 'tsx');
    spaces.push(local);
    const l = await local.run(['repro', 'all']);
    assert.equal(l.code, 0, l.stdout + l.stderr);

    const w = slurmSpace();
    const r = await w.run(['repro', 'all', '--jobs', '8']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 cached, 11 ran/);
    assert.deepEqual(w.registered(), local.registered());
    // Every node ran as its own Slurm job, once.
    const jobs = w.jobsByNode();
    assert.equal(jobs.size, 11, [...jobs.keys()].join(' '));
    for (const [node, list] of jobs) assert.equal(list.length, 1, `${node}: ${JSON.stringify(list)}`);
    const handles = w.query<{ handle: string | null; environment: string }>('SELECT handle, environment FROM executions');
    assert.ok(handles.every((h) => h.handle !== null && JSON.parse(h.environment).slurmJob !== undefined));
    // Job folders go once their results are registered.
    assert.deepEqual(readdirSync(join(w.dir, 'artifacts', 'slurm', 'jobs')), []);

    const traced = w.trace().length;
    const again = await w.run(['repro', 'all']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /11 cached, 0 ran/);
    assert.equal(w.executions(), 11);
    assert.equal(w.trace().length, traced);
    assert.equal(w.jobsByNode().size, 11);
  });

  test('driver killed with SIGKILL while jobs run: the next repro reattaches, nothing is submitted twice', async () => {
    const w = slurmSpace(`    naps: [{ name: a, seconds: 6 }, { name: b, seconds: 8 }]\n`);
    const driver = await w.spawn(['repro', 'all', 'naps', '--jobs', '8']);
    // Killed once both naps are queued or running (their job ids are recorded).
    await waitFor(
      'nap jobs to be submitted',
      () => w.query<{ n: number }>(`SELECT COUNT(*) AS n FROM executions WHERE node_id LIKE 'nap@%' AND ${HAS_JOB_ID}`)[0]!.n === 2 || undefined,
    );
    driver.kill('SIGKILL');
    await new Promise((r) => driver.on('close', r));
    const before = w.jobsByNode();
    assert.ok(['PENDING', 'RUNNING', 'CONFIGURING'].includes(before.get('nap@b')![0]!.state), JSON.stringify([...before]));

    const again = await w.run(['repro', 'all', 'naps', '--jobs', '8']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /reattached/);
    // One job per node over both drivers, and one execution row per job (the reattached one moved to run 2).
    const jobs = w.jobsByNode();
    assert.equal(jobs.size, 13, [...jobs.keys()].join(' '));
    for (const [node, list] of jobs) assert.equal(list.length, 1, `${node} was submitted ${list.length} times`);
    const naps = w.query<{ node_id: string; status: string; run_id: number }>(
      "SELECT node_id, status, run_id FROM executions WHERE node_id LIKE 'nap@%' ORDER BY node_id",
    );
    assert.deepEqual(
      naps.map((n) => [n.node_id, n.status, n.run_id]),
      [
        ['nap@a', 'succeeded', 2],
        ['nap@b', 'succeeded', 2],
      ],
    );
    // Nothing orphaned: every registered node points at a succeeded execution; every trace line is one execution.
    const orphans = w.query('SELECT n.node_id FROM nodes n JOIN executions e ON e.id = n.execution_id WHERE e.status != ?', 'succeeded');
    assert.deepEqual(orphans, []);
    assert.equal(new Set(w.trace()).size, w.trace().length, w.trace().join('\n'));
    assert.equal(Object.keys(w.registered()).length, 13);
  });

  test("jobs cancelled behind the driver's back, over their memory or over their time limit fail by name; --keep-going finishes the rest", async () => {
    // Slurm enforces a time limit of at least a minute, checked every 30 s or so: this test takes about 90 s.
    const w = slurmSpace(
      `    naps: [{ name: victim, seconds: 150 }, { name: late, seconds: 150 }]\n    hog: { mb: 900 }\n`,
      "{ mem: 400M, minTime: '5', stages: { hog: { mem: 250M }, nap: { time: '1' } } }",
      [1],
    );
    const driver = await w.spawn(['repro', 'all', 'naps', 'hog', '--keep-going', '--jobs', '8']);
    let out = '';
    driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    driver.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    let exited = false;
    driver.on('close', () => (exited = true));
    const job = await waitFor('the victim to run', () => {
      if (exited) return 'exited';
      const j = w.jobsByNode().get('nap@victim')?.[0];
      return j?.state === 'RUNNING' ? j.id : undefined;
    });
    assert.notEqual(job, 'exited', `driver exited early:\n${out}`);
    assert.equal(spawnSync('scancel', [job]).status, 0);
    const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`FAILED +nap@victim[\\s\\S]*Slurm job ${job} ended CANCELLED`));
    assert.match(out, /FAILED +hog[\s\S]*ended OUT_OF_MEMORY[\s\S]*log: \S+\.log/);
    assert.match(out, /FAILED +nap@late[\s\S]*ended TIMEOUT[\s\S]*log: \S+\.log/);
    const reg = w.registered();
    assert.equal(reg['nap@victim'], undefined);
    assert.equal(reg['hog'], undefined);
    assert.equal(reg['nap@late'], undefined);
    for (const id of ['sum@scaled', 'sum@parity']) assert.ok(reg[id], `${id} should complete under --keep-going`);
    const failed = w.query<{ node_id: string; error: string }>("SELECT node_id, error FROM executions WHERE status = 'failed' ORDER BY node_id");
    assert.deepEqual(
      failed.map((f) => f.node_id),
      ['hog', 'nap@late', 'nap@victim'],
    );
    assert.match(failed[0]!.error, /exceeded its memory limit/);
  });

  test("a job Slurm refuses (an unknown partition) fails its node with sbatch's own words", async () => {
    const w = slurmSpace('', "{ mem: 400M, minTime: '5', partition: nosuchpartition }");
    const r = await w.run(['repro', 'gen@n1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED +gen@n1[\s\S]*could not submit the job: sbatch exit 1: .*invalid partition/i);
    assert.equal(w.registered()['gen@n1'], undefined);
  });

  test('retries are opt-in: slurm.retries resubmits a job that ended by a Slurm state, then fails', async () => {
    const w = slurmSpace(`    hog: { mb: 900 }\n`, "{ mem: 400M, minTime: '5', retries: 1, stages: { hog: { mem: 250M } } }");
    const r = await w.run(['repro', 'hog']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /\[hog\] Slurm job \d+ ended OUT_OF_MEMORY.*resubmitting \(retry 1 of 1\)/);
    assert.match(r.stdout, /FAILED +hog[\s\S]*ended OUT_OF_MEMORY/);
    assert.equal(w.jobsByNode().get('hog')?.length, 2);
    assert.equal(w.executions(), 1);
  });

  test("Ctrl-C cancels the run's jobs and records them interrupted, not reattachable", async () => {
    const w = slurmSpace(`    naps: [{ name: x, seconds: 90 }, { name: y, seconds: 90 }]\n`);
    const driver = await w.spawn(['repro', 'naps', '--jobs', '4']);
    await waitFor(
      'both jobs to be submitted',
      () => w.query<{ n: number }>(`SELECT COUNT(*) AS n FROM executions WHERE ${HAS_JOB_ID}`)[0]!.n === 2 || undefined,
    );
    driver.kill('SIGINT');
    const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
    assert.equal(code, 130);
    const states = await waitFor(
      'the jobs to end',
      () => {
        const jobs = [...w.jobsByNode().values()].flat();
        return jobs.length === 2 && jobs.every((j) => j.state === 'CANCELLED') ? jobs : undefined;
      },
      30_000,
    );
    assert.equal(states.length, 2);
    const rows = w.query<{ status: string; error: string }>('SELECT status, error FROM executions');
    assert.deepEqual(
      rows.map((r) => r.status),
      ['interrupted', 'interrupted'],
    );
    assert.ok(
      rows.every((r) => /cancelled \(interrupted\)/.test(r.error)),
      JSON.stringify(rows),
    );
  });

  test('an output corrupted after the job wrote it is refused at registration, then recomputed', async () => {
    const w = slurmSpace(`    naps: [{ name: c, seconds: 3 }]\n`);
    const driver = await w.spawn(['repro', 'naps']);
    const handle = await waitFor('the job to be submitted', () => w.query<{ handle: string | null }>(SUBMITTED)[0]?.handle ?? undefined);
    driver.kill('SIGKILL');
    await new Promise((r) => driver.on('close', r));
    const resultFile = join(jobFolder(w, handle), 'result.json');
    await waitFor('the job to write its result', () => existsSync(resultFile) || undefined, 60_000);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { outputs: Record<string, { digest: string }> };
    const blob = w.blobPath(result.outputs['out']!.digest);
    const good = readFileSync(blob, 'utf8');
    chmodSync(blob, 0o644);
    writeFileSync(blob, good.replace('c', 'x'));

    const refused = await w.run(['repro', 'naps']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /output 'out' is corrupt[\s\S]*refused, nothing registered/);
    assert.equal(w.registered()['nap@c'], undefined);

    const again = await w.run(['repro', 'naps']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(readFileSync(w.blobPath(w.registered()['nap@c']!['out']!), 'utf8'), good);
  });

  test('a stage source edited while its job waits in the queue: the job refuses to run, nothing is registered under the stale key', async () => {
    // A private copy of the project, and a job held in the queue (--hold) until the edit is made.
    const src = copyToyProject('slurm-toy');
    const w = slurmSpace(`    naps: [{ name: held, seconds: 0 }]\n`, "{ mem: 400M, minTime: '5', extra: ['--hold'] }", [1], join(src, 'cli.ts'));
    const driver = await w.spawn(['repro', 'naps']);
    let out = '';
    driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    driver.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const handle = await waitFor('the job to be submitted', () => w.query<{ handle: string | null }>(SUBMITTED)[0]?.handle ?? undefined);
    const job = handle.split(':')[0]!;
    try {
      assert.equal(w.jobsByNode().get('nap@held')?.[0]?.state, 'PENDING');
      appendFileSync(join(src, 'project.ts'), '\n// edited while the job waited in the queue\n');
      assert.equal(spawnSync('scontrol', ['release', job]).status, 0);
      const code = await new Promise<number | null>((r) => driver.on('close', (c) => r(c)));
      assert.equal(code, 1, out);
      assert.match(out, /FAILED +nap@held[\s\S]*refusing to run nap@held: its key was computed for other code of stage 'nap' than this worker loaded/);
      assert.match(out, new RegExp(`Slurm job ${job} on `));
      assert.deepEqual(w.query("SELECT node_id FROM nodes WHERE node_id = 'nap@held'"), []);
      assert.equal(w.query<{ status: string }>("SELECT status FROM executions WHERE node_id = 'nap@held'")[0]?.status, 'failed');
    } finally {
      spawnSync('scancel', [job]);
    }
  });

  test("gc removes an interrupted run's job folders once its job has left the queue, never those of a live driver or a queued job", async () => {
    const w = slurmSpace(`    naps: [{ name: g, seconds: 0 }]\n`, "{ mem: 400M, minTime: '5', extra: ['--hold'] }", [1]);
    const driver = await w.spawn(['repro', 'naps']);
    const handle = await waitFor('the job to be submitted', () => w.query<{ handle: string | null }>(SUBMITTED)[0]?.handle ?? undefined);
    const job = handle.split(':')[0]!;
    const folder = jobFolder(w, handle);
    try {
      const gc = async () => {
        const r = await w.run(['gc', '--apply']);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        return r.stdout;
      };
      // The driver is alive (it holds the node's lock): its folder stays.
      assert.match(await gc(), /kept 1 Slurm job folders of live runs or queued jobs/);
      assert.ok(existsSync(join(folder, 'task.json')));
      driver.kill('SIGKILL');
      await new Promise((r) => driver.on('close', r));
      // The driver is gone but its job is still queued: a later repro would reattach to it.
      assert.match(await gc(), /kept 1 Slurm job folders/);
      assert.ok(existsSync(join(folder, 'task.json')));
      assert.equal(spawnSync('scancel', [job]).status, 0);
      await waitFor('the job to leave the queue', () => w.jobsByNode().get('nap@g')?.[0]?.state === 'CANCELLED' || undefined, 30_000);
      assert.match(await gc(), /removed 0 blobs, 0 folder views, 1 Slurm job folders of interrupted runs and/);
      assert.equal(existsSync(folder), false);
    } finally {
      spawnSync('scancel', [job]);
    }
  });

  test("a job whose dependency can never be satisfied is reported, and slurm.maxPending fails its node naming Slurm's reason", async () => {
    // A job that has failed: a job depending on its success pends with DependencyNeverSatisfied for ever.
    const failed = spawnSync('sbatch', ['--parsable', '--wait', '--mem=50M', '--output=/dev/null', '--wrap', 'false'], { encoding: 'utf8' });
    const dep = failed.stdout.trim().split(';')[0]!;
    assert.match(dep, /^\d+$/, failed.stderr);
    const w = slurmSpace('', `{ mem: 400M, minTime: '5', maxPending: '00:00:02', extra: ['--dependency=afterok:${dep}'] }`, [1]);
    const r = await w.run(['repro', 'gen@n1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /\[gen@n1\] Slurm job \d+ is pending for a reason Slurm cannot satisfy as the cluster stands: DependencyNeverSatisfied; its node fails after 2 s/,
    );
    assert.match(
      r.stdout,
      /FAILED +gen@n1[\s\S]*Slurm job (\d+) pending for \d+ s with reason DependencyNeverSatisfied, which Slurm cannot satisfy \(slurm.maxPending 2 s\); cancelled/,
    );
    const job = w.jobsByNode().get('gen@n1')?.[0];
    assert.equal(job?.state, 'CANCELLED', JSON.stringify(job));
    assert.equal(w.registered()['gen@n1'], undefined);
  });
});
