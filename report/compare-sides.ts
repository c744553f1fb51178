/**
 * The two sides of `compare`, read from the workspace (read-only). A profile side is what is up to
 * date now for that profile and its --set overrides; a run side is the report nodes as that run
 * left them: those it executed, else the latest executed before it in the same profile.
 */
import { loadProject } from '../engine/cli/program.ts';
import type { LineageDb } from '../engine/state/db.ts';
import type { Project } from '../engine/core/project.ts';
import { UserError } from '../engine/core/result.ts';
import type { BlobStore } from '../engine/state/store.ts';
import { upToDate } from '../engine/plan/up-to-date.ts';
import type { Workspace } from '../engine/state/workspace.ts';
import type { CompareSide } from './compare.ts';
import { orderedReportNodes, readReportDir, upstreamNodes } from './html/collect.ts';
import type { ReportFile } from './html/model.ts';

async function reportFiles(store: BlobStore, ref: { digest: string; kind: 'file' | 'dir'; size: number }): Promise<ReportFile[]> {
  return readReportDir(await store.materialize(ref));
}

export type SideSpec = { readonly kind: 'profile'; readonly profile: string; readonly set: readonly string[] } | { readonly kind: 'run'; readonly run: number };

/** `12` or `run:12` is a past run (see `log`); anything else a profile of params.yaml. */
export function parseSide(text: string, set: readonly string[]): SideSpec {
  const m = /^(?:run:)?(\d+)$/.exec(text);
  if (m) return { kind: 'run', run: Number(m[1]) };
  return { kind: 'profile', profile: text, set };
}

export async function profileSide(project: Project, root: string, profile: string, set: readonly string[]): Promise<CompareSide> {
  const { ws, graph, params } = await loadProject(project, { root, profile, set: [...set] });
  try {
    const ids = orderedReportNodes(graph, undefined).map((n) => n.id);
    const state = await upToDate(project, ws, graph, ids);
    const reports = new Map<string, ReportFile[]>();
    const keys: string[] = [];
    for (const id of ids) {
      const ref = state.outputs.get(id)?.['report'];
      const key = state.keys.get(id);
      if (!ref || !key) continue;
      reports.set(id, await reportFiles(ws.store, ref));
      keys.push(key);
    }
    const label = `profile ${profile}${set.map((s) => ` --set ${s}`).join('')}`;
    return { label, reports, profileParams: params, nodes: upstreamNodes(ws.db, keys), notComputed: state.missing };
  } finally {
    ws.close();
  }
}

/** Report node id → key, as run `runId` left them. */
function reportKeysOfRun(db: LineageDb, runId: number): { profile: string | null; command: string; keys: Map<string, string> } {
  const runs = db.runs(1_000_000);
  const run = runs.find((r) => r.id === runId);
  if (!run) throw new UserError(`no run ${runId} in the lineage database (see 'log')`);
  const keys = new Map<string, string>();
  const earlier = runs.filter((r) => r.id <= runId && r.profile === run.profile).sort((p, q) => p.id - q.id);
  for (const r of earlier) {
    for (const e of db.executionsOfRun(r.id)) {
      if (e.status !== 'succeeded' || !db.node(e.node_key)) continue;
      if (db.outputs(e.node_key).some((o) => o.name === 'report' && o.kind === 'dir')) keys.set(e.node_id, e.node_key);
    }
  }
  return { profile: run.profile, command: run.command, keys };
}

export async function runSide(ws: Workspace, runId: number): Promise<CompareSide> {
  const { profile, command, keys } = reportKeysOfRun(ws.db, runId);
  const reports = new Map<string, ReportFile[]>();
  for (const [id, key] of [...keys].sort(([p], [q]) => p.localeCompare(q))) {
    const out = ws.db.outputs(key).find((o) => o.name === 'report')!;
    reports.set(id, await reportFiles(ws.store, { digest: out.digest, kind: out.kind, size: out.size }));
  }
  if (reports.size === 0) throw new UserError(`run ${runId} (profile ${profile ?? '?'}) has no report node results that are still registered`);
  return { label: `run ${runId} (${profile ?? '?'}: ${command})`, reports, profileParams: undefined, nodes: upstreamNodes(ws.db, [...keys.values()]) };
}
