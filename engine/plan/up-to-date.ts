import type { CheckedGraph } from './graph.ts';
import type { Project } from '../core/project.ts';
import type { ReproEvent } from '../run/events.ts';
import { Repro } from '../run/repro.ts';
import { cacheContext } from '../run/repro-context.ts';
import type { ArtifactRef } from '../state/store.ts';
import type { Workspace } from '../state/workspace.ts';

/**
 * Which nodes are up to date under the current code and parameters, without running or recording
 * anything: a dry run (no executor, no locks) whose cache hits are collected. Views built after the
 * fact (the HTML report, `compare`) read results through this, so they never show a stale
 * registration of a node id.
 */

export interface UpToDate {
  /** Key of every node of the closure that is cached now. */
  readonly keys: ReadonlyMap<string, string>;
  /** Outputs of the requested nodes that are cached now; absent ones would run. */
  readonly outputs: ReadonlyMap<string, Readonly<Record<string, ArtifactRef>>>;
  /** Requested nodes that are not cached (they, or something upstream, would run). */
  readonly missing: readonly string[];
}

export async function upToDate(project: Project, ws: Workspace, graph: CheckedGraph, ids: readonly string[]): Promise<UpToDate> {
  const keys = new Map<string, string>();
  const listener = (e: ReproEvent) => {
    if (e.type === 'cached') keys.set(e.node, e.key);
  };
  const repro = new Repro(cacheContext(project, ws, graph, listener), { dryRun: true, force: [], jobs: 1, keepGoing: true });
  const summary = await repro.run(ids);
  return { keys, outputs: summary.outputs, missing: ids.filter((id) => !summary.outputs.has(id)) };
}
