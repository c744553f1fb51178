import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSqueueByOutput, unsatisfiable, type QueueEntry } from '../engine/exec/slurm/commands.ts';
import { SlurmExecutor, parseHandle, type SlurmCommands } from '../engine/exec/slurm/executor.ts';
import { BlobStore } from '../engine/state/store.ts';
import { writeJsonAtomic } from '../engine/exec/slurm/task-manifest.ts';
import { staleJobFolders } from '../engine/exec/slurm/gc.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from '../engine/run/worker-protocol.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * Job endings a one-node test cluster cannot produce on demand (a node failure, a job the
 * controller forgot, a controller that stops answering), played by a scripted queue in place of
 * Slurm's commands. The real Slurm runs every other path (slurm-executor.test.ts).
 */

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

class ScriptedCluster implements SlurmCommands {
  readonly submitted: string[][] = [];
  readonly cancelled: string[][] = [];
  states = new Map<string, string>();
  reasons = new Map<string, string>();
  squeueCalls = 0;
  /** performance.now() of every squeue call. */
  readonly squeueAt: number[] = [];
  down = false;
  /** Each job's --output file. */
  readonly outputs = new Map<string, string>();
  private next = 100;
  async sbatch(args: readonly string[]): Promise<string> {
    this.submitted.push([...args]);
    const id = String(this.next++);
    this.states.set(id, 'PENDING');
    const output = args.find((a) => a.startsWith('--output='));
    if (output !== undefined) this.outputs.set(id, output.slice('--output='.length));
    return id;
  }
  async squeueByOutput(): Promise<Map<string, QueueEntry>> {
    const byOutput = new Map<string, QueueEntry>();
    for (const [id, state] of this.states) if (this.outputs.has(id)) byOutput.set(this.outputs.get(id)!, { id, state, reason: '' });
    return byOutput;
  }
  async squeue(): Promise<Map<string, QueueEntry>> {
    this.squeueCalls++;
    this.squeueAt.push(performance.now());
    if (this.down) throw new Error('squeue exit 1: slurm_load_jobs error: Unable to contact slurm controller');
    return new Map([...this.states].map(([id, state]) => [id, { id, state, reason: this.reasons.get(id) ?? 'None' }]));
  }
  async scancel(ids: readonly string[]): Promise<void> {
    this.cancelled.push([...ids]);
    for (const id of ids) this.states.set(id, 'CANCELLED');
  }
  async finalState(): Promise<string | undefined> {
    return undefined;
  }
}

/** Resolves once the executor has polled the queue `n` more times (waiting on polls, not on wall time). */
function polls(cluster: ScriptedCluster, n: number): Promise<number> {
  const target = cluster.squeueCalls + n;
  return waitFor(`${n} squeue polls`, () => cluster.squeueCalls >= target && cluster.squeueCalls, 60_000, 5);
}

const executors: SlurmExecutor[] = [];
after(() => executors.forEach((e) => e.close()));

function setup(cluster: ScriptedCluster, options: { maxPendingS?: number } = {}, into?: string) {
  const artifacts = into ?? mkdtempSync(join(tmpdir(), 'rf-states-'));
  if (into === undefined) dirs.push(artifacts);
  const ex = new SlurmExecutor({
    artifactsDir: artifacts,
    store: new BlobStore(artifacts),
    jobName: 't',
    resources: () => ['--mem=1G'],
    pollMs: { min: 20, max: 80 },
    resultGraceMs: 100,
    commands: cluster,
    ...options,
  });
  executors.push(ex);
  const task = (id: string): NodeTask => ({
    projectModule: 'file:///nowhere.ts',
    stage: 's',
    nodeId: id,
    nodeKey: `${id.padEnd(16, '0')}`,
    codeDigest: 'c',
    params: {},
    inputs: {},
    outputs: {},
    scratchDir: join(artifacts, 'scratch'),
  });
  const run = (id: string) => {
    const log = join(artifacts, `${id}.log`);
    const messages: WorkerMessage[] = [];
    const e = ex.execute(task(id), (m) => messages.push(m), log, { inputRefs: {}, outputKinds: { out: 'file' }, env: {} });
    return { e, log, messages };
  };
  return { ex, run, artifacts };
}

test('a driver killed before it recorded the job id: the next one finds the job by its log file and reattaches; a job never submitted is run afresh', async () => {
  const cluster = new ScriptedCluster();
  const first = setup(cluster);
  const a = first.run('a');
  // Recorded by the scheduler before sbatch is even called.
  const provisional = a.e.provisionalHandle;
  assert.ok(provisional !== undefined && parseHandle(provisional, first.artifacts)!.jobId === undefined, String(provisional));
  const handle = await a.e.handle;
  const jobId = parseHandle(handle!, first.artifacts)!.jobId!;
  cluster.states.set(jobId, 'RUNNING');
  // The driver dies between sbatch's answer and its record of the job id.
  first.ex.close();
  const dir = parseHandle(provisional, first.artifacts)!.dir;
  rmSync(join(dir, 'job-id'));
  // gc, meanwhile, finds that job by the output file the folder's manifest names, and keeps the folder.
  const gc = await staleJobFolders(first.artifacts, { host: hostname(), queue: () => cluster.squeue(), queueByOutput: () => cluster.squeueByOutput() });
  assert.deepEqual([gc.stale, gc.kept], [[], 1]);

  const second = setup(cluster, {}, first.artifacts);
  const messages: WorkerMessage[] = [];
  const again = await second.ex.reattach(provisional, (m) => messages.push(m), a.log);
  assert.ok(again !== undefined, 'the job was not found again');
  assert.ok(
    messages.some((m) => m.type === 'log' && m.message === `reattached to Slurm job ${jobId} (RUNNING)`),
    JSON.stringify(messages),
  );
  assert.equal(cluster.submitted.length, 1, 'submitted twice');
  again.kill();
  await again.outcome;
  assert.deepEqual(cluster.cancelled, [[jobId]]);

  // A provisional handle whose job never reached sbatch (nothing writes to its log): run afresh.
  const never = join(first.artifacts, 'slurm', 'jobs', 'never-submitted');
  mkdirSync(never, { recursive: true });
  assert.equal(await second.ex.reattach(`pending:slurm/jobs/never-submitted`, () => {}, join(first.artifacts, 'never.log')), undefined);
  second.ex.close();
});

test("squeue's jobs by output file: the newest job of a file wins, malformed lines are skipped", () => {
  const jobs = parseSqueueByOutput(
    ['1890|CANCELLED|/a/logs/2-nap@y.log|', '1902|RUNNING|/a/logs/1-nap@x.log|', '1891|TIMEOUT|/a/logs/1-nap@x.log|', 'garbage', '1903|PENDING||'].join('\n'),
  );
  assert.deepEqual(Object.fromEntries(jobs), {
    '/a/logs/2-nap@y.log': { id: '1890', state: 'CANCELLED', reason: '' },
    '/a/logs/1-nap@x.log': { id: '1902', state: 'RUNNING', reason: '' },
  });
});

const failure = (o: ExecOutcome) => (o.ok ? assert.fail('expected a failure') : o.error);

test('NODE_FAIL, a job that vanished, and COMPLETED without a result each fail the node naming the state and the log', async () => {
  const cluster = new ScriptedCluster();
  const { ex, run } = setup(cluster);
  const a = run('a');
  const b = run('b');
  const c = run('c');
  const [ha, hb, hc] = await Promise.all([a.e.handle, b.e.handle, c.e.handle]);
  writeFileSync(a.log, 'slurmstepd: error: *** JOB ON node7 CANCELLED DUE TO NODE FAILURE ***\n');
  cluster.states.set(parseHandle(ha!, '/')!.jobId!, 'NODE_FAIL');
  cluster.states.delete(parseHandle(hb!, '/')!.jobId!);
  cluster.states.set(parseHandle(hc!, '/')!.jobId!, 'COMPLETED');
  const [ea, eb, ec] = (await Promise.all([a.e.outcome, b.e.outcome, c.e.outcome])).map(failure);
  const id = (h: string | undefined) => parseHandle(h!, '/')!.jobId!;
  assert.match(ea!, new RegExp(`^Slurm job ${id(ha)} ended NODE_FAIL;`));
  assert.match(ea!, /ended NODE_FAIL; log: \S+a\.log\n--- last lines of [\s\S]*NODE FAILURE/);
  assert.match(eb!, new RegExp(`^Slurm job ${id(hb)} vanished`));
  assert.match(eb!, /vanished from the queue without writing a result; log: \S+b\.log/);
  assert.match(ec!, new RegExp(`^Slurm job ${id(hc)} ended COMPLETED`));
  assert.match(ec!, /ended COMPLETED without writing a result; log: \S+c\.log/);
  // Submitted with the run's name, the node id as comment, output to the node's log.
  assert.deepEqual(cluster.submitted.find((args) => args.includes('--comment=a'))!.slice(0, 4), [
    '--job-name=t',
    '--comment=a',
    `--output=${a.log}`,
    '--open-mode=append',
  ]);
  ex.close();
});

test('one squeue per poll for all jobs, backing off while nothing changes; a result file ends the job', async () => {
  const cluster = new ScriptedCluster();
  const { ex, run, artifacts } = setup(cluster);
  const jobs = ['p', 'q', 'r'].map(run);
  const handles = await Promise.all(jobs.map((j) => j.e.handle));
  for (const h of handles) cluster.states.set(parseHandle(h!, '/')!.jobId!, 'RUNNING');
  // Polls at 20 ms growing by half up to 80 ms while nothing changes. Timers fire late under load,
  // never early, so only lower bounds on the gaps are asserted: one squeue per job would put calls
  // back to back, and a poll that never backs off would keep 20 ms gaps.
  const from = cluster.squeueAt.length;
  await polls(cluster, 9);
  const at = cluster.squeueAt.slice(from);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  assert.ok(
    gaps.every((g) => g >= 15),
    `squeue calls closer than one poll interval (one per job?): gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
  );
  assert.ok(gaps[gaps.length - 1]! >= 70, `no back-off: gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  const dir = parseHandle(handles[0]!, artifacts)!.dir;
  const digest = 'ab'.repeat(32);
  await writeJsonAtomic(join(dir, 'result.json'), {
    format: 1,
    status: 'succeeded',
    outputs: { out: { digest, kind: 'file', size: 3 } },
    host: 'node7',
    pid: 1,
    startedAt: new Date().toISOString(),
    durationS: 2,
  });
  const done = await jobs[0]!.e.outcome;
  assert.ok(done.ok && done.stored?.['out']?.digest === digest && done.environment?.['host'] === 'node7');
  // Ctrl-C: the remaining jobs go in one scancel.
  jobs[1]!.e.kill();
  jobs[2]!.e.kill();
  await Promise.all([jobs[1]!.e.outcome, jobs[2]!.e.outcome]);
  assert.deepEqual(
    cluster.cancelled.map((ids) => [...ids].sort()),
    [[handles[1], handles[2]].map((h) => parseHandle(h!, '/')!.jobId).sort()],
  );
  ex.close();
});

test('a controller that stops answering is waited out, not taken for failed jobs', async () => {
  const cluster = new ScriptedCluster();
  const { ex, run, artifacts } = setup(cluster);
  const j = run('x');
  const h = await j.e.handle;
  cluster.down = true;
  let settled = false;
  void j.e.outcome.then(() => (settled = true));
  await polls(cluster, 5);
  assert.equal(settled, false, 'a squeue outage failed the node');
  cluster.down = false;
  await writeJsonAtomic(join(parseHandle(h!, artifacts)!.dir, 'result.json'), {
    format: 1,
    status: 'failed',
    error: 'Error: boom',
    host: 'n',
    pid: 1,
    startedAt: new Date().toISOString(),
    durationS: 1,
  });
  assert.match(failure(await j.e.outcome)!, /^Error: boom\n\(Slurm job \d+ on n; log: /);
  ex.close();
});

const logs = (messages: readonly WorkerMessage[]) => messages.flatMap((m) => (m.type === 'log' ? [m.message] : []));

test('squeue reasons that never clear by waiting are told from those that do', () => {
  for (const r of [
    'BadConstraints',
    'PartitionConfig',
    'PartitionTimeLimit',
    'QOSMaxWallDurationPerJobLimit',
    'AssocMaxCpuPerJobLimit',
    'ReqNodeNotAvail, UnavailableNodes:node[3-4]',
  ]) {
    assert.equal(unsatisfiable(r), r, r);
  }
  // Other jobs ending clears these; a reservation's ReqNodeNotAvail names no unavailable node.
  for (const r of [
    'None',
    'Resources',
    'Priority',
    'Dependency',
    'JobHeldUser',
    'AssocMaxJobsLimit',
    'QOSMaxJobsPerUserLimit',
    'ReqNodeNotAvail, UnavailableNodes:',
    'BeginTime',
  ]) {
    assert.equal(unsatisfiable(r), undefined, r);
  }
});

test('a job pending for a reason Slurm cannot satisfy is reported; slurm.maxPending fails its node naming the reason and cancels it', async () => {
  const cluster = new ScriptedCluster();
  const { ex, run } = setup(cluster, { maxPendingS: 0.3 });
  const stuck = run('stuck');
  const waiting = run('waiting');
  const [hs, hw] = await Promise.all([stuck.e.handle, waiting.e.handle]);
  const id = (h: string | undefined) => parseHandle(h!, '/')!.jobId!;
  cluster.reasons.set(id(hs), 'ReqNodeNotAvail, UnavailableNodes:gpu7');
  cluster.reasons.set(id(hw), 'Priority');
  const error = failure(await stuck.e.outcome)!;
  assert.match(
    error,
    new RegExp(
      `^Slurm job ${id(hs)} pending for \\d+ s with reason ReqNodeNotAvail, UnavailableNodes:gpu7, which Slurm cannot satisfy \\(slurm.maxPending 0.3 s\\); cancelled`,
    ),
  );
  assert.deepEqual(cluster.cancelled, [[id(hs)]]);
  // Reported in the progress once, not on every poll.
  assert.deepEqual(logs(stuck.messages), [
    `Slurm job ${id(hs)} is pending for a reason Slurm cannot satisfy as the cluster stands: ReqNodeNotAvail, UnavailableNodes:gpu7; its node fails after 0.3 s of this`,
  ]);
  // A job waiting its turn is left alone however long it waits (here: however many polls).
  await polls(cluster, 5);
  assert.deepEqual(logs(waiting.messages), []);
  waiting.e.kill();
  await waiting.e.outcome;
  ex.close();
});

test('without slurm.maxPending such a job is reported and left waiting until its reason clears', async () => {
  const cluster = new ScriptedCluster();
  const { ex, run, artifacts } = setup(cluster);
  const j = run('bad');
  const h = await j.e.handle;
  const jobId = parseHandle(h!, '/')!.jobId!;
  cluster.reasons.set(jobId, 'BadConstraints');
  await waitFor('the reason to be reported', () => logs(j.messages).length > 0, 60_000, 5);
  // Reported once, not on every poll.
  await polls(cluster, 5);
  assert.deepEqual(logs(j.messages), [
    `Slurm job ${jobId} is pending for a reason Slurm cannot satisfy as the cluster stands: BadConstraints; it waits (slurm.maxPending would fail it)`,
  ]);
  // The administrator fixes the node's features: the job runs and finishes.
  cluster.reasons.delete(jobId);
  cluster.states.set(jobId, 'RUNNING');
  await writeJsonAtomic(join(parseHandle(h!, artifacts)!.dir, 'result.json'), {
    format: 1,
    status: 'succeeded',
    outputs: { out: { digest: 'cd'.repeat(32), kind: 'file', size: 1 } },
    host: 'n',
    pid: 1,
    startedAt: new Date().toISOString(),
    durationS: 1,
  });
  assert.ok((await j.e.outcome).ok);
  assert.deepEqual(cluster.cancelled, []);
  ex.close();
});
