import type { ExecOutcome, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * Runs one node somewhere (a local child process now; a Slurm job later) and reports what the
 * worker says. The scheduler decides what runs when; an executor only runs what it is given.
 */
export interface Execution {
  /** Process id on this host where that makes sense (recorded so a dead worker is recognisable). */
  readonly pid: number | undefined;
  readonly outcome: Promise<ExecOutcome>;
  /** Stops the execution (interrupt); its outcome then resolves as failed. */
  kill(): void;
}

export interface Executor {
  readonly name: string;
  /** `logFile` receives the worker's stdout and stderr. */
  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void, logFile?: string): Execution;
  /** Releases whatever the executor keeps between executions (booted spare workers). */
  close(): void;
}
