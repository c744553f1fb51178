import YAML from 'yaml';
import type { LineageDb, NodeRow, OutputRow } from '../state/db.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { refsOf } from '../core/project.ts';
import { UserError } from '../core/result.ts';
import type { BlobStore } from '../state/store.ts';
import { fmtDuration } from './reporter.ts';

/**
 * Read-only views of the lineage database for people: `show`, `lineage`, `log`, `dag`. Everything
 * here answers "where did this come from, with which parameters, what did it measure".
 */

export type ArtifactDescriber = (path: string, output: OutputRow, node: NodeRow) => Promise<string[]>;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function indentYaml(value: unknown, pad: string): string {
  const text = YAML.stringify(value, { lineWidth: 100 }).trimEnd();
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** Finds a registered node by id (latest registration) or key prefix. */
export function findNode(db: LineageDb, ref: string): NodeRow | undefined {
  const byId = db.latestNodeById(ref);
  if (byId) return byId;
  if (/^[0-9a-f]{4,64}$/.test(ref)) {
    const rows = db.nodesByIdPrefix(ref).filter((r) => r.key.startsWith(ref));
    if (rows.length > 1) throw new UserError(`key prefix '${ref}' is ambiguous (${rows.length} nodes)`);
    return rows[0];
  }
  return undefined;
}

/** Finds an artifact by `node:output`, or by digest prefix. */
export function findArtifact(db: LineageDb, ref: string): OutputRow[] {
  const colon = ref.lastIndexOf(':');
  if (colon > 0) {
    const node = findNode(db, ref.slice(0, colon));
    const out = node ? db.outputs(node.key).find((o) => o.name === ref.slice(colon + 1)) : undefined;
    return out ? [out] : [];
  }
  if (/^[0-9a-f]{4,64}$/.test(ref)) return db.outputsByDigestPrefix(ref);
  return [];
}

export async function showNode(db: LineageDb, store: BlobStore, node: NodeRow): Promise<string> {
  const exec = db.execution(node.execution_id);
  const attempts = db.executionsOfKey(node.key);
  const lines: string[] = [];
  lines.push(`node ${node.node_id}`);
  lines.push(`  key         ${node.key}`);
  lines.push(`  stage       ${node.stage} v${node.stage_version} (code ${node.code_digest.slice(0, 12)})`);
  lines.push(`  registered  ${node.registered_at} (execution ${node.execution_id}${exec ? `, run ${exec.run_id}` : ''})`);
  lines.push('  params');
  lines.push(indentYaml(JSON.parse(node.params), '    '));
  const edges = db.edges(node.key);
  lines.push(`  inputs${edges.length ? '' : '      (none)'}`);
  for (const e of edges) lines.push(`    ${e.input.padEnd(12)} <- ${e.from_node_id}:${e.from_output}  ${e.digest.slice(0, 12)}`);
  lines.push('  outputs');
  for (const o of db.outputs(node.key)) {
    const path = o.kind === 'file' ? store.blobPath(o.digest) : `(folder; materialised under ${store.treesDir})`;
    lines.push(`    ${o.name.padEnd(12)} ${o.kind.padEnd(4)} ${o.digest.slice(0, 12)}  ${fmtBytes(o.size).padStart(9)}  ${path}`);
  }
  if (exec) {
    lines.push('  timing');
    lines.push(`    started ${exec.started_at}, took ${fmtDuration(exec.duration_s ?? 0)} on ${exec.host ?? '?'}`);
    if (exec.environment) lines.push(`    environment ${exec.environment}`);
    if (exec.metrics) {
      lines.push('  metrics');
      lines.push(indentYaml(JSON.parse(exec.metrics), '    '));
    }
    const series = db.series(exec.id);
    if (series.length > 0) {
      const byName = new Map<string, number>();
      for (const s of series) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
      lines.push(`  series      ${[...byName].map(([n, c]) => `${n} (${c} points)`).join(', ')}`);
      for (const [name] of byName) {
        const pts = series.filter((s) => s.name === name);
        const last = pts[pts.length - 1]!;
        lines.push(`    ${name} last @${last.step}: ${last.vals}`);
      }
    }
  }
  const failed = attempts.filter((a) => a.status !== 'succeeded');
  if (failed.length > 0) {
    lines.push(`  attempts    ${attempts.length} (${failed.map((a) => `#${a.id} ${a.status}`).join(', ')})`);
  }
  return lines.join('\n');
}

export async function showArtifact(db: LineageDb, store: BlobStore, outputs: readonly OutputRow[], describe?: ArtifactDescriber): Promise<string> {
  const first = outputs[0]!;
  const lines = [`artifact ${first.digest}`, `  kind        ${first.kind}`, `  size        ${fmtBytes(first.size)}`];
  const path = first.kind === 'file' ? store.blobPath(first.digest) : await store.materialize(first);
  lines.push(`  path        ${path}`);
  lines.push('  produced by');
  for (const o of outputs) {
    const n = db.node(o.node_key);
    lines.push(`    ${n?.node_id ?? o.node_key}:${o.name}  (stage ${n?.stage ?? '?'})`);
  }
  const producer = db.node(first.node_key);
  if (describe && producer) {
    const extra = await describe(path, first, producer).catch((e: unknown) => [`(could not describe: ${(e as Error).message})`]);
    if (extra.length) lines.push(...extra.map((l) => `  ${l}`));
  }
  if (producer) {
    lines.push('  lineage');
    lines.push(lineageTree(db, producer, '    '));
  }
  return lines.join('\n');
}

/** The upstream tree of a node back to its sources, with each node's parameters on one line. */
export function lineageTree(db: LineageDb, node: NodeRow, pad = ''): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (n: NodeRow, prefix: string, childPrefix: string, via: string) => {
    const params = n.params.length > 160 ? `${n.params.slice(0, 157)}...` : n.params;
    const again = seen.has(n.key);
    lines.push(`${pad}${prefix}${via}${n.node_id}  [${n.stage} ${n.key.slice(0, 10)}]${again ? ' (see above)' : `  ${params}`}`);
    if (again) return;
    seen.add(n.key);
    const edges = db.edges(n.key);
    edges.forEach((e, i) => {
      const last = i === edges.length - 1;
      const up = db.node(e.from_key);
      const label = `${e.input} <- `;
      if (up === undefined) {
        lines.push(`${pad}${childPrefix}${last ? '└─ ' : '├─ '}${label}${e.from_node_id} (no longer registered; digest ${e.digest.slice(0, 12)})`);
      } else {
        walk(up, childPrefix + (last ? '└─ ' : '├─ '), childPrefix + (last ? '   ' : '│  '), label);
      }
    });
  };
  walk(node, '', '', '');
  return lines.join('\n');
}

export function runLog(db: LineageDb, limit: number, dryRuns = false): string {
  const rows = db.runs(limit, dryRuns);
  const hidden = dryRuns ? 0 : db.dryRunCount();
  const note = hidden > 0 ? `\n(${hidden} dry run${hidden === 1 ? '' : 's'} not listed: log --dry-runs)` : '';
  if (rows.length === 0) return `no runs yet${note}`;
  return (
    rows
      .map((r) => {
        const s = r.summary ? (JSON.parse(r.summary) as Record<string, number>) : {};
        const counts = Object.entries(s)
          .filter(([, v]) => typeof v === 'number' && v > 0)
          .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
          .join(', ');
        return `run ${String(r.id).padEnd(4)} ${r.started_at}  ${r.status.padEnd(11)} ${r.profile ?? ''}  ${r.command}${counts ? `\n          ${counts}` : ''}`;
      })
      .join('\n') + note
  );
}

export function runDetail(db: LineageDb, runId: number): string {
  const execs = db.executionsOfRun(runId);
  if (execs.length === 0) return `run ${runId}: no node executed`;
  return execs
    .map((e) => `${e.status.padEnd(11)} ${e.node_id.padEnd(40)} ${fmtDuration(e.duration_s ?? 0).padStart(7)}${e.error ? `  ${e.error.split('\n')[0]}` : ''}`)
    .join('\n');
}

export function dagText(g: CheckedGraph, order: readonly string[], format: 'text' | 'mermaid' | 'dot'): string {
  const ids = new Map(order.map((id, i) => [id, `n${i}`]));
  const edges: Array<[string, string, string]> = [];
  for (const id of order) {
    for (const [input, given] of Object.entries(g.nodes.get(id)!.spec.inputs ?? {})) {
      for (const ref of refsOf(given)) edges.push([ref.node, id, input]);
    }
  }
  if (format === 'mermaid') {
    return ['graph TD', ...order.map((id) => `  ${ids.get(id)}["${id}"]`), ...edges.map(([a, b, l]) => `  ${ids.get(a)} -->|${l}| ${ids.get(b)}`)].join('\n');
  }
  if (format === 'dot') {
    return [
      'digraph pipeline {',
      '  rankdir=LR;',
      ...order.map((id) => `  ${ids.get(id)} [label="${id}"];`),
      ...edges.map(([a, b, l]) => `  ${ids.get(a)} -> ${ids.get(b)} [label="${l}"];`),
      '}',
    ].join('\n');
  }
  return order
    .map((id) => {
      const n = g.nodes.get(id)!;
      const ins = Object.entries(n.spec.inputs ?? {}).flatMap(([name, given]) => refsOf(given).map((ref) => `${name}<-${ref.node}`));
      return `${id}  (${n.spec.stage.name})${ins.length ? `\n    ${ins.join('\n    ')}` : ''}`;
    })
    .join('\n');
}

export { fmtBytes };
