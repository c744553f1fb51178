import { loadedCode } from './code-check.ts';
import type { Executor } from '../exec/executor.ts';
import type { Estimator } from '../plan/estimates.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { NodeLocks } from '../state/lock.ts';
import type { Project } from '../core/project.ts';
import type { ReproListener } from './events.ts';
import type { ReproContext } from './repro.ts';
import type { Workspace } from '../state/workspace.ts';

/**
 * The scheduler's context over a workspace: its store, database and locks, and the same code
 * digests every `repro` keys nodes with (the project's extra code included). `repro` and the views
 * that ask what is up to date (the HTML report, `compare`) build it one way.
 */
export function reproContext(
  project: Project,
  ws: Workspace,
  graph: CheckedGraph,
  run: {
    readonly executor: Executor;
    readonly runId: number;
    readonly listener: ReproListener;
    readonly estimator?: Estimator;
    readonly workerEnv?: Readonly<Record<string, string>>;
  },
): ReproContext {
  return {
    project,
    graph,
    artifactsDir: ws.artifactsDir,
    db: ws.db,
    store: ws.store,
    integrity: ws.integrity,
    executor: run.executor,
    locks: new NodeLocks(`${ws.artifactsDir}/locks`, { pid: process.pid, host: ws.host, runId: run.runId }),
    digests: loadedCode(project),
    runId: run.runId,
    host: ws.host,
    listener: run.listener,
    ...(run.estimator ? { estimator: run.estimator } : {}),
    ...(run.workerEnv ? { workerEnv: run.workerEnv } : {}),
  };
}
