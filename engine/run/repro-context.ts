import { loadedCode } from './code-check.ts';
import type { Executor } from '../exec/executor.ts';
import type { CacheContext } from '../plan/cache.ts';
import type { Estimator } from '../plan/estimates.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { NodeLocks } from '../state/lock.ts';
import type { Project } from '../core/project.ts';
import type { ReproListener } from './events.ts';
import type { ReproContext } from './repro.ts';
import type { Workspace } from '../state/workspace.ts';

/**
 * The scheduler's contexts over a workspace, built one way for `repro`, dry runs and the views that
 * ask what is up to date (the HTML report, `compare`): the database, the blobs' integrity and the
 * same code digests every `repro` keys nodes with (the project's extra code included); and, for a
 * run that executes nodes, the store, the executor and the locks.
 */
export function cacheContext(project: Project, ws: Workspace, graph: CheckedGraph, listener: ReproListener, estimator?: Estimator): CacheContext {
  return {
    project,
    graph,
    db: ws.db,
    integrity: ws.integrity,
    digests: loadedCode(project),
    listener,
    ...(estimator ? { estimator } : {}),
  };
}

/** The context of a run; without an executor (a dry run) it can run nothing. */
export function reproContext(
  project: Project,
  ws: Workspace,
  graph: CheckedGraph,
  run: {
    readonly executor: Executor | undefined;
    readonly runId: number;
    readonly listener: ReproListener;
    readonly estimator?: Estimator;
    readonly workerEnv?: Readonly<Record<string, string>>;
  },
): ReproContext {
  const cache = cacheContext(project, ws, graph, run.listener, run.estimator);
  if (run.executor === undefined) return cache;
  return {
    ...cache,
    run: {
      artifactsDir: ws.artifactsDir,
      store: ws.store,
      executor: run.executor,
      locks: new NodeLocks(`${ws.artifactsDir}/locks`, { pid: process.pid, host: ws.host, runId: run.runId }),
      runId: run.runId,
      host: ws.host,
      ...(run.workerEnv ? { workerEnv: run.workerEnv } : {}),
    },
  };
}
