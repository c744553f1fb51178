import type { Execution, Executor } from './executor.ts';
import type { Project } from '../core/project.ts';
import { runStage } from '../run/stage-runner.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from '../run/worker-protocol.ts';

/**
 * Runs stages inside the driver process. Only for stages that are trivially cheap and cannot crash
 * the process (benchmark scaffolding, generated test graphs): it gives up the isolation the local
 * executor exists for, in exchange for no process start per node.
 */
export class InlineExecutor implements Executor {
  readonly name = 'inline';
  constructor(private readonly project: Project) {}

  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void): Execution {
    const outcome = runStage(this.project, task, onMessage).then(
      (metrics): ExecOutcome => ({ ok: true, metrics }),
      (e: unknown): ExecOutcome => ({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), exitCode: null, signal: null }),
    );
    return { pid: undefined, outcome, kill: () => {} };
  }

  close(): void {}
}
