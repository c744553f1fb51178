import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshCompiledWorker } from '../../fast-start/compiled-worker.ts';
import type { Execution, Executor, TaskDetails } from '../executor.ts';
import { ACTIVE_STATES, hasAccounting, sacctState, sbatch, scancel, squeue, squeueByOutput, unsatisfiable, type QueueEntry } from './commands.ts';
import type { BlobStore } from '../../state/store.ts';
import { writeFileAtomic } from '../../../base/atomic-write.ts';
import { jobFiles, readResult, recordedJobId, writeJsonAtomic, type TaskManifest, type TaskResult } from './task-manifest.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from '../../run/worker-protocol.ts';

/**
 * Each node as one Slurm batch job. The driver writes a task manifest into a job folder on the
 * shared file system and submits `sbatch --parsable` (a job name shared by the run, the node id
 * in --comment, --output to the node's log file, the stage's resources). One `squeue` call per
 * poll, for every job of the run, with back-off; the job's event file is tailed for progress.
 * A job is finished when its result file says so; the driver then rehashes the outputs it names
 * before registering anything (repro.ts). A job that ends by a Slurm state (TIMEOUT, NODE_FAIL,
 * CANCELLED, out of memory) or vanishes without a result fails its node with that state and
 * the log file's tail. Executions carry a handle (`<job id>:<job folder>`) that the scheduler
 * records in SQLite at submission, so a driver started again reattaches instead of resubmitting.
 */

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
// Resolved when the first worker starts, not at every CLI start (a no-op needs no worker).
let tsx: string | undefined;
const tsxLoader = (): string => (tsx ??= import.meta.resolve('tsx'));

export interface SlurmExecutorOptions {
  readonly artifactsDir: string;
  readonly store: BlobStore;
  /** `--job-name` of every job of this run. */
  readonly jobName: string;
  /** sbatch resource flags for a node (from the profile's `slurm:` mapping and the stage). */
  readonly resources: (task: NodeTask) => readonly string[];
  /** Resubmissions after a job ends by a Slurm state (not after a stage error, which would repeat). */
  readonly retries?: number;
  /** The node binary on compute nodes (default: this process's, on the shared file system). */
  readonly nodeBinary?: string;
  /** Fail a node whose job stays PENDING this long for a reason Slurm cannot satisfy (slurm.maxPending); default: wait. */
  readonly maxPendingS?: number;
  /** Poll interval: starts at min after any change, grows by half up to max. */
  readonly pollMs?: { readonly min: number; readonly max: number };
  /** How long a COMPLETED or vanished job's result may take to appear (shared file systems cache). */
  readonly resultGraceMs?: number;
  /** Slurm's commands (default: the real ones); tests of states a one-node cluster cannot produce replace them. */
  readonly commands?: SlurmCommands;
  /** Submit the project's compiled worker while it is fresh (default); false: always the tsx one. */
  readonly compiledWorker?: boolean;
}

export interface SlurmCommands {
  sbatch(args: readonly string[], script: string, scriptArgs: readonly string[]): Promise<string>;
  squeue(): Promise<Map<string, QueueEntry>>;
  /** The jobs squeue lists, by their --output file. */
  squeueByOutput(): Promise<Map<string, QueueEntry>>;
  scancel(ids: readonly string[]): Promise<void>;
  /** The final state of a job the controller forgot, where accounting exists. */
  finalState(id: string): Promise<string | undefined>;
}

const REAL: SlurmCommands = {
  sbatch,
  squeue,
  squeueByOutput,
  scancel,
  finalState: async (id) => ((await hasAccounting()) ? sacctState(id).catch(() => undefined) : undefined),
};

interface Watch {
  readonly dir: string;
  readonly logFile: string;
  readonly onMessage: (m: WorkerMessage) => void;
  readonly resolve: (o: ExecOutcome) => void;
  /** Undefined until sbatch answers. */
  jobId: string | undefined;
  submit: (() => Promise<string>) | undefined;
  attempts: number;
  eventsOffset: number;
  pendingLine: string;
  endedWithoutResultAt: number | undefined;
  /** The unsatisfiable pending reason last reported, and since when the job has had one. */
  stuckReason: string | undefined;
  stuckSince: number | undefined;
  killed: boolean;
  done: boolean;
}

export function formatHandle(jobId: string, dir: string, artifactsDir: string): string {
  return `${jobId}:${relative(artifactsDir, dir)}`;
}

/** The handle recorded before sbatch answers: the job folder, no job id yet. */
export function provisionalHandle(dir: string, artifactsDir: string): string {
  return `${PENDING}:${relative(artifactsDir, dir)}`;
}

const PENDING = 'pending';

/** The job id (undefined in a provisional handle) and the job folder. */
export function parseHandle(handle: string, artifactsDir: string): { jobId: string | undefined; dir: string } | undefined {
  const m = /^(\d+(?:_\d+)?|pending):(.+)$/.exec(handle);
  return m ? { jobId: m[1] === PENDING ? undefined : m[1]!, dir: resolve(artifactsDir, m[2]!) } : undefined;
}

/** The tail of a log file, for failure messages. */
async function logTail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const tail = text
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(-lines);
  return tail.length ? `\n--- last lines of ${path} ---\n${tail.join('\n')}` : '';
}

/** Out of memory shows as OUT_OF_MEMORY with cgroups, or as FAILED with slurmstepd's message without. */
const OOM_LOG = /exceeded (job )?memory limit|oom[-_ ]kill|out of memory/i;

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private interval: number;
  private squeueFailingSince: number | undefined;
  private readonly toCancel = new Set<Watch>();
  private cancelScheduled = false;
  private submitting = 0;
  private readonly submitQueue: Array<() => void> = [];
  private script: Promise<string> | undefined;

  private readonly cmd: SlurmCommands;

  constructor(private readonly o: SlurmExecutorOptions) {
    this.interval = o.pollMs?.min ?? 500;
    this.cmd = o.commands ?? REAL;
  }

  private jobScript(): Promise<string> {
    // One generic script: the command comes as its arguments, so nothing is ever quoted into a shell.
    this.script ??= (async () => {
      const path = join(this.o.artifactsDir, 'slurm', 'job.sh');
      if (!existsSync(path)) {
        writeFileAtomic(path, '#!/bin/sh\n# robustfeat node job: runs the command given as arguments (the engine\'s slurm-worker)\nexec "$@"\n', {
          mode: 0o755,
        });
      }
      return path;
    })();
    return this.script;
  }

  /** At most four sbatch processes at once: a burst of ready nodes must not fork-bomb a login node. */
  private async throttled<T>(f: () => Promise<T>): Promise<T> {
    if (this.submitting >= 4) await new Promise<void>((r) => this.submitQueue.push(r));
    this.submitting++;
    try {
      return await f();
    } finally {
      this.submitting--;
      this.submitQueue.shift()?.();
    }
  }

  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void, logFile?: string, details?: TaskDetails): Execution {
    if (details === undefined) throw new Error('the Slurm executor needs the task details (inputs by digest)');
    const dir = join(this.o.artifactsDir, 'slurm', 'jobs', `${task.nodeKey.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    const log = logFile ?? join(dir, 'job.log');
    let resolveHandle!: (h: string | undefined) => void;
    const handle = new Promise<string | undefined>((r) => (resolveHandle = r));
    let w!: Watch;
    const outcome = new Promise<ExecOutcome>((resolveOutcome) => {
      w = this.newWatch(dir, log, onMessage, resolveOutcome);
    });
    const manifest: TaskManifest = {
      format: 1,
      task,
      inputRefs: details.inputRefs,
      outputKinds: details.outputKinds,
      artifactsDir: resolve(this.o.artifactsDir),
      env: details.env,
      output: resolve(log),
    };
    const args = [
      `--job-name=${this.o.jobName}`,
      `--comment=${task.nodeId}`,
      `--output=${log}`,
      '--open-mode=append',
      `--chdir=${process.cwd()}`,
      '--no-requeue',
      ...this.o.resources(task),
    ];
    w.submit = async () => {
      const script = await this.jobScript();
      // The compiled worker while its sources are unchanged (checked at each submission; a job that
      // starts after an edit runs the sources instead), else the worker through tsx.
      const compiled = freshCompiledWorker(task.projectModule, 'slurm', this.o.compiledWorker !== false);
      const command = compiled ? [compiled, dir] : ['--import', tsxLoader(), WORKER, dir];
      return this.throttled(() => this.cmd.sbatch(args, script, [this.o.nodeBinary ?? process.execPath, ...command]));
    };
    void (async () => {
      try {
        await mkdir(dir, { recursive: true });
        await writeJsonAtomic(jobFiles(dir).manifest, manifest);
        const id = await w.submit!();
        await this.submitted(w, id);
        resolveHandle(formatHandle(id, dir, this.o.artifactsDir));
      } catch (e) {
        resolveHandle(undefined);
        this.finish(w, { ok: false, error: `could not submit the job: ${(e as Error).message}`, exitCode: null, signal: null });
      }
    })();
    return {
      pid: undefined,
      handle,
      provisionalHandle: provisionalHandle(dir, this.o.artifactsDir),
      outcome,
      kill: () => this.cancel(w),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }

  async reattach(handle: string, onMessage: (m: WorkerMessage) => void, logFile: string): Promise<Execution | undefined> {
    const h = parseHandle(handle, this.o.artifactsDir);
    if (h === undefined || !existsSync(h.dir)) return undefined;
    // After a retry the folder names the newest job.
    let jobId = (await recordedJobId(h.dir)) || (h.jobId ?? '');
    if (jobId === '') {
      // The driver died before it recorded the job id, perhaps before sbatch answered: the job, if
      // it was submitted, writes to this execution's log file, which no other job does. Not found
      // (never submitted, or forgotten by the controller): the node runs afresh.
      const found = (await this.cmd.squeueByOutput()).get(resolve(logFile));
      if (found === undefined) return undefined;
      jobId = found.id;
    }
    const files = jobFiles(h.dir);
    let result: TaskResult | undefined;
    try {
      result = await readResult(files.result);
    } catch {
      result = undefined;
    }
    let entry: QueueEntry | undefined;
    if (result === undefined) {
      entry = (await this.cmd.squeue()).get(jobId);
      if (entry === undefined || !ACTIVE_STATES.has(entry.state)) {
        // Ended while no driver watched, without a result: nothing to collect; run it afresh.
        await this.o.store.removeStaging(`j${jobId}-`);
        return undefined;
      }
    } else if (result.status !== 'succeeded') {
      return undefined;
    }
    let w!: Watch;
    const outcome = new Promise<ExecOutcome>((resolveOutcome) => {
      w = this.newWatch(h.dir, logFile, onMessage, resolveOutcome);
    });
    onMessage({ type: 'log', message: `reattached to Slurm job ${jobId}${entry ? ` (${entry.state})` : ' (finished while no driver ran)'}` });
    await this.submitted(w, jobId);
    return { pid: undefined, handle: Promise.resolve(handle), outcome, kill: () => this.cancel(w), dispose: () => rm(h.dir, { recursive: true, force: true }) };
  }

  private newWatch(dir: string, logFile: string, onMessage: (m: WorkerMessage) => void, resolveOutcome: (o: ExecOutcome) => void): Watch {
    return {
      dir,
      logFile,
      onMessage,
      resolve: resolveOutcome,
      jobId: undefined,
      submit: undefined,
      attempts: 1,
      eventsOffset: 0,
      pendingLine: '',
      endedWithoutResultAt: undefined,
      stuckReason: undefined,
      stuckSince: undefined,
      killed: false,
      done: false,
    };
  }

  private async submitted(w: Watch, id: string): Promise<void> {
    w.jobId = id;
    await writeFile(jobFiles(w.dir).jobId, `${id}\n`);
    w.onMessage({ type: 'environment', facts: { slurmJob: id } });
    this.watches.add(w);
    if (w.killed) this.cancel(w);
    this.kick();
  }

  /** Polls soon (something changed); the interval grows again from the minimum. */
  private kick(): void {
    this.interval = this.o.pollMs?.min ?? 500;
    if (this.polling) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), this.interval);
  }

  private finish(w: Watch, o: ExecOutcome): void {
    if (w.done) return;
    w.done = true;
    this.watches.delete(w);
    w.resolve(o);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.watches.size === 0) return;
    this.polling = true;
    let changed = false;
    try {
      let queue: Map<string, QueueEntry>;
      try {
        queue = await this.cmd.squeue();
        this.squeueFailingSince = undefined;
      } catch (e) {
        // A controller that does not answer for ten minutes fails the run's nodes; shorter outages are waited out.
        this.squeueFailingSince ??= Date.now();
        if (Date.now() - this.squeueFailingSince > 600_000) {
          for (const w of [...this.watches])
            this.finish(w, { ok: false, error: `squeue has failed for 10 minutes: ${(e as Error).message}`, exitCode: null, signal: null });
        }
        return;
      }
      for (const w of [...this.watches]) {
        if (w.done || w.jobId === undefined) continue;
        await this.readEvents(w);
        const entry = queue.get(w.jobId);
        // The result is written last and atomically: once there, the job is done even if Slurm
        // still says RUNNING or COMPLETING (this saves a poll per node).
        const active = entry !== undefined && ACTIVE_STATES.has(entry.state);
        if (entry?.state === 'PENDING' && (await this.stuck(w, entry))) {
          changed = true;
          continue;
        }
        if (active && !existsSync(jobFiles(w.dir).result)) continue;
        if (await this.settle(w, entry)) changed = true;
      }
    } finally {
      this.polling = false;
      if (this.watches.size > 0) {
        const max = this.o.pollMs?.max ?? 10_000;
        this.interval = changed ? (this.o.pollMs?.min ?? 500) : Math.min(max, this.interval * 1.5);
        this.timer = setTimeout(() => void this.poll(), this.interval);
      }
    }
  }

  /**
   * A pending job whose reason Slurm cannot satisfy is reported once per reason; after
   * `maxPendingS` of such reasons it is cancelled and its node fails naming the reason. True if the watch ended.
   */
  private async stuck(w: Watch, entry: QueueEntry): Promise<boolean> {
    const reason = unsatisfiable(entry.reason);
    if (reason === undefined) {
      w.stuckReason = undefined;
      w.stuckSince = undefined;
      return false;
    }
    w.stuckSince ??= Date.now();
    const max = this.o.maxPendingS;
    if (w.stuckReason !== reason) {
      w.stuckReason = reason;
      const then = max === undefined ? 'it waits (slurm.maxPending would fail it)' : `its node fails after ${max} s of this`;
      w.onMessage({ type: 'log', message: `Slurm job ${w.jobId} is pending for a reason Slurm cannot satisfy as the cluster stands: ${reason}; ${then}` });
    }
    if (max === undefined || Date.now() - w.stuckSince < max * 1000) return false;
    const waited = Math.round((Date.now() - w.stuckSince) / 1000);
    let cancelled = 'cancelled';
    await this.cmd.scancel([w.jobId!]).catch((e: unknown) => (cancelled = `scancel failed: ${(e as Error).message}`));
    this.finish(w, {
      ok: false,
      error: `Slurm job ${w.jobId} pending for ${waited} s with reason ${reason}, which Slurm cannot satisfy (slurm.maxPending ${max} s); ${cancelled}. Fix the job's resources or the cluster, then run repro again.`,
      exitCode: null,
      signal: null,
    });
    return true;
  }

  /** A job no longer active: its result decides; without one, its Slurm state. True if the watch ended. */
  private async settle(w: Watch, entry: QueueEntry | undefined): Promise<boolean> {
    const id = w.jobId!;
    let result: TaskResult | undefined;
    try {
      result = await readResult(jobFiles(w.dir).result);
    } catch (e) {
      this.finish(w, { ok: false, error: `Slurm job ${id}: ${(e as Error).message} (log: ${w.logFile})`, exitCode: null, signal: null });
      return true;
    }
    if (result !== undefined) {
      await this.readEvents(w);
      this.finish(w, this.fromResult(w, result));
      return true;
    }
    let state = entry?.state;
    if (state === undefined) state = await this.cmd.finalState(id);
    if (state === 'COMPLETED' || state === undefined) {
      // The result may still be on its way through the file system's caches.
      w.endedWithoutResultAt ??= Date.now();
      if (Date.now() - w.endedWithoutResultAt < (this.o.resultGraceMs ?? 20_000)) return false;
    }
    await this.o.store.removeStaging(`j${id}-`);
    if (w.killed) {
      this.finish(w, { ok: false, error: `Slurm job ${id} cancelled (interrupted)`, exitCode: null, signal: 'SIGTERM' });
      return true;
    }
    const oom = state === 'OUT_OF_MEMORY' || OOM_LOG.test(await readFile(w.logFile, 'utf8').catch(() => ''));
    const what =
      state === undefined
        ? 'vanished from the queue without writing a result'
        : oom && state !== 'OUT_OF_MEMORY'
          ? `ended OUT_OF_MEMORY (Slurm state ${state}: the job exceeded its memory limit)`
          : `ended ${state}${entry?.reason && entry.reason !== 'None' ? ` (${entry.reason})` : ''}${state === 'COMPLETED' ? ' without writing a result' : ''}`;
    if (w.attempts <= (this.o.retries ?? 0) && w.submit !== undefined) {
      w.onMessage({ type: 'log', message: `Slurm job ${id} ${what}; resubmitting (retry ${w.attempts} of ${this.o.retries})` });
      w.attempts++;
      w.endedWithoutResultAt = undefined;
      try {
        await this.submitted(w, await w.submit());
        return true;
      } catch (e) {
        this.finish(w, { ok: false, error: `could not resubmit: ${(e as Error).message}`, exitCode: null, signal: null });
        return true;
      }
    }
    this.finish(w, { ok: false, error: `Slurm job ${id} ${what}; log: ${w.logFile}${await logTail(w.logFile)}`, exitCode: null, signal: null });
    return true;
  }

  private fromResult(w: Watch, r: TaskResult): ExecOutcome {
    const where = { host: r.host, slurmJob: r.jobId ?? w.jobId };
    if (r.status === 'succeeded' && r.outputs !== undefined) {
      return { ok: true, metrics: r.metrics, stored: r.outputs, durationS: r.durationS, environment: where };
    }
    return { ok: false, error: `${r.error ?? 'the job reported failure'}\n(Slurm job ${w.jobId} on ${r.host}; log: ${w.logFile})`, exitCode: 1, signal: null };
  }

  /** Passes on the events the job appended since the last poll (whole lines only). */
  private async readEvents(w: Watch): Promise<void> {
    const fh = await open(jobFiles(w.dir).events, 'r').catch(() => undefined);
    if (fh === undefined) return;
    try {
      const { size } = await fh.stat();
      if (size <= w.eventsOffset) return;
      const buf = Buffer.alloc(size - w.eventsOffset);
      await fh.read(buf, 0, buf.length, w.eventsOffset);
      w.eventsOffset = size;
      const lines = (w.pendingLine + buf.toString('utf8')).split('\n');
      w.pendingLine = lines.pop() ?? '';
      for (const line of lines) {
        if (line.length === 0) continue;
        try {
          w.onMessage(JSON.parse(line) as WorkerMessage);
        } catch {
          // A torn line (the job died mid-write) carries nothing worth failing the node for.
        }
      }
    } finally {
      await fh.close();
    }
  }

  /** Ctrl-C: every job asked to stop in the same tick goes into one scancel. */
  private cancel(w: Watch): void {
    w.killed = true;
    if (w.jobId === undefined || w.done) return;
    this.toCancel.add(w);
    if (this.cancelScheduled) return;
    this.cancelScheduled = true;
    setImmediate(() => {
      this.cancelScheduled = false;
      const batch = [...this.toCancel];
      this.toCancel.clear();
      void this.cmd.scancel(batch.map((x) => x.jobId!)).then(
        () => batch.forEach((x) => this.finish(x, { ok: false, error: `Slurm job ${x.jobId} cancelled (interrupted)`, exitCode: null, signal: 'SIGTERM' })),
        (e: unknown) =>
          batch.forEach((x) => this.finish(x, { ok: false, error: `interrupted, but scancel failed: ${(e as Error).message}`, exitCode: null, signal: null })),
      );
    });
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
