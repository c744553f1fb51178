/**
 * Fills the report's PageModel from a workspace: which report nodes are up to date under the
 * current code and profile (a dry run, nothing executes), their files, and, read-only from the
 * lineage database, every node upstream of them with its execution, timings, backend and series.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LineageDb } from '../../engine/state/db.ts';
import type { CheckedGraph, CheckedNode } from '../../engine/plan/graph.ts';
import { closure } from '../../engine/plan/graph.ts';
import type { Project } from '../../engine/core/project.ts';
import { upToDate } from '../../engine/plan/up-to-date.ts';
import type { Workspace } from '../../engine/state/workspace.ts';
import { regimeFromGroundTruth, withRegimeLine } from '../regime-line.ts';
import { backendOf, type PageModel, type ProvenanceNode, type ReportFile, type ReportNodeView, type RunView, type SeriesPoint } from './model.ts';

/** Report nodes are recognised by what they declare, not by stage name: any `report` folder output. */
export const isReportNode = (n: CheckedNode): boolean => n.spec.stage.outputs['report']?.kind === 'dir';

const TEXT = /\.(md|csv|svg|txt|json|html?)$/i;

/** The files of a materialised report folder (text for text formats, bytes otherwise). */
export function readReportDir(dir: string): ReportFile[] {
  return readdirSync(dir)
    .sort()
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      return { name, content: TEXT.test(name) ? bytes.toString('utf8') : new Uint8Array(bytes) };
    });
}

const json = (s: string | null): unknown => (s === null ? undefined : (JSON.parse(s) as unknown));

/** A registered node with its recorded execution and series. */
export function provenanceOf(db: LineageDb, key: string): ProvenanceNode | undefined {
  const row = db.node(key);
  if (row === undefined) return undefined;
  const exec = db.execution(row.execution_id);
  const series: Record<string, SeriesPoint[]> = {};
  if (exec) for (const s of db.series(exec.id)) (series[s.name] ??= []).push({ step: s.step, values: JSON.parse(s.vals) as Record<string, unknown> });
  return {
    key,
    nodeId: row.node_id,
    stage: row.stage,
    stageVersion: row.stage_version,
    codeDigest: row.code_digest,
    params: JSON.parse(row.params) as unknown,
    registeredAt: row.registered_at,
    inputs: db.edges(key).map((e) => ({ input: e.input, fromKey: e.from_key, fromNodeId: e.from_node_id, fromOutput: e.from_output, digest: e.digest })),
    outputs: db.outputs(key).map((o) => ({ name: o.name, kind: o.kind, digest: o.digest, size: o.size })),
    execution: exec && {
      id: exec.id,
      runId: exec.run_id,
      status: exec.status,
      startedAt: exec.started_at,
      durationS: exec.duration_s,
      host: exec.host,
      environment: json(exec.environment),
      metrics: json(exec.metrics),
    },
    series,
  };
}

/** Every registered node upstream of `keys` (and they themselves), following recorded edges. */
export function upstreamNodes(db: LineageDb, keys: readonly string[]): Map<string, ProvenanceNode> {
  const out = new Map<string, ProvenanceNode>();
  const todo = [...keys];
  while (todo.length > 0) {
    const key = todo.pop()!;
    if (out.has(key)) continue;
    const node = provenanceOf(db, key);
    if (node === undefined) continue;
    out.set(key, node);
    for (const e of node.inputs) todo.push(e.fromKey);
  }
  return out;
}

/** Recent runs of a profile that executed nodes, newest first, with what ran, how long, where. */
export function recentRuns(db: LineageDb, profile: string, limit = 8): RunView[] {
  const runs: RunView[] = [];
  for (const r of db.runs(200)) {
    if (r.profile !== profile) continue;
    const execs = db.executionsOfRun(r.id);
    if (execs.length === 0) continue;
    runs.push({
      id: r.id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      command: r.command,
      profile: r.profile,
      status: r.status,
      host: r.host,
      executions: execs.map((e) => ({
        nodeId: e.node_id,
        key: e.node_key,
        status: e.status,
        durationS: e.duration_s,
        host: e.host,
        backend: backendOf(json(e.environment)),
        error: e.error?.split('\n')[0],
      })),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}

export interface CollectOptions {
  readonly project: Project;
  readonly ws: Workspace;
  readonly graph: CheckedGraph;
  readonly profile: string;
  /** The profile's effective parameters (after `extends` and `--set`). */
  readonly params: unknown;
  readonly overrides: readonly string[];
  /** Restrict the page to the report nodes these node ids need (default: every report node). */
  readonly targets?: readonly string[];
}

/**
 * Report nodes in the order of the `all` group (the project lists its reports there: table1, …,
 * fig3, then any later kind), then any other; each with the first other group that names it.
 */
export function orderedReportNodes(graph: CheckedGraph, within: ReadonlySet<string> | undefined): Array<{ id: string; group: string | undefined }> {
  const groupOf = new Map<string, string>();
  for (const [group, ids] of Object.entries(graph.groups)) if (group !== 'all') for (const id of ids) if (!groupOf.has(id)) groupOf.set(id, group);
  const order = [...(graph.groups['all'] ?? []), ...Object.values(graph.groups).flat(), ...graph.nodes.keys()];
  const seen = new Set<string>();
  const out: Array<{ id: string; group: string | undefined }> = [];
  for (const id of order) {
    const n = graph.nodes.get(id);
    if (!n || seen.has(id) || !isReportNode(n) || (within && !within.has(id))) continue;
    seen.add(id);
    out.push({ id, group: groupOf.get(id) });
  }
  return out;
}

export async function collectPage(o: CollectOptions): Promise<PageModel> {
  const within = o.targets ? new Set(closure(o.graph, o.targets)) : undefined;
  const wanted = orderedReportNodes(o.graph, within);
  // The ground truth's regime line goes beside every synthetic banner, even on a page without it.
  const truthId = o.graph.nodes.has('ground-truth') ? 'ground-truth' : undefined;
  const state = await upToDate(o.project, o.ws, o.graph, [...wanted.map((w) => w.id), ...(truthId && !wanted.some((w) => w.id === truthId) ? [truthId] : [])]);
  const truthRef = truthId ? state.outputs.get(truthId)?.['report'] : undefined;
  const truthMd = truthRef ? readReportDir(await o.ws.store.materialize(truthRef)).find((f) => f.name === 'ground-truth.md')?.content : undefined;
  const regime = typeof truthMd === 'string' ? regimeFromGroundTruth(truthMd) : undefined;
  const reports: ReportNodeView[] = [];
  for (const w of wanted) {
    const ref = state.outputs.get(w.id)?.['report'];
    const key = state.keys.get(w.id);
    if (!ref || !key) continue;
    const dir = await o.ws.store.materialize(ref);
    const files = readReportDir(dir).map((f) => (regime && typeof f.content === 'string' ? { ...f, content: withRegimeLine(f.name, f.content, regime) } : f));
    reports.push({ id: w.id, key, stage: o.graph.nodes.get(w.id)!.spec.stage.name, group: w.group, files });
  }
  return {
    title: `${o.project.name} — results of profile ${o.profile}`,
    profile: { name: o.profile, params: o.params, overrides: o.overrides },
    generatedAt: new Date().toISOString(),
    reports,
    missing: state.missing.filter((id) => wanted.some((w) => w.id === id)),
    nodes: upstreamNodes(
      o.ws.db,
      reports.map((r) => r.key),
    ),
    runs: recentRuns(o.ws.db, o.profile),
  };
}
