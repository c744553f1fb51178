import type { InputRef } from './slurm/task-manifest.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from '../run/worker-protocol.ts';

/**
 * Runs one node somewhere (a local child process, or a Slurm batch job) and reports what the
 * worker says. The scheduler decides what runs when; an executor only runs what it is given.
 */
export interface Execution {
  /** Process id on this host where that makes sense (recorded so a dead worker is recognisable). */
  readonly pid: number | undefined;
  /**
   * Where a later driver can find this execution again (for Slurm: the job id and its folder),
   * once it is known; the scheduler records it as soon as it resolves. Absent for executions that
   * die with their driver.
   */
  readonly handle?: Promise<string | undefined>;
  /**
   * A handle known before the execution is submitted, recorded at once: a driver killed between
   * the submission and `handle` resolving leaves this, from which a later driver finds the job (or
   * learns there is none) instead of submitting it a second time.
   */
  readonly provisionalHandle?: string;
  readonly outcome: Promise<ExecOutcome>;
  /** Stops the execution (interrupt); its outcome then resolves as failed. */
  kill(): void;
  /** Frees what was kept for a later driver (a job's folder), once the outcome is recorded in SQLite. */
  dispose?(): Promise<void>;
}

/** What an executor that runs nodes away from the driver needs besides the task (inputs by digest). */
export interface TaskDetails {
  readonly inputRefs: Readonly<Record<string, InputRef | readonly InputRef[] | undefined>>;
  readonly outputKinds: Readonly<Record<string, 'file' | 'dir'>>;
  /** Extra environment for the worker (the project's per-job settings). */
  readonly env: Readonly<Record<string, string>>;
}

export interface Executor {
  readonly name: string;
  /** `logFile` receives the worker's stdout and stderr. */
  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void, logFile?: string, details?: TaskDetails): Execution;
  /**
   * Optional: takes over an execution that an earlier driver started (by its recorded handle) and
   * that may still deliver a result: still queued or running, or finished with a result nobody
   * collected. Undefined when there is nothing to take over (the node is then run afresh).
   */
  reattach?(handle: string, onMessage: (m: WorkerMessage) => void, logFile: string): Promise<Execution | undefined>;
  /** Releases whatever the executor keeps between executions (booted spare workers, pollers). */
  close(): void;
}
