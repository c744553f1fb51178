import type { Command } from 'commander';
import type { LineageDb, NodeRow, OutputRow } from '../state/db.ts';
import type { BlobStore } from '../state/store.ts';
import type { ArtifactDescriber, VerbContext } from './context.ts';
import { compareLabels, fmtBytes, indentYaml, roundFloats } from './format.ts';
import { lineageTree } from './lineage.ts';
import { openFor } from './load.ts';
import { findArtifact, findNode, whyNothingMatches } from './refs.ts';
import { fmtDuration } from './reporter.ts';

/** `show <ref>`: a node's params, inputs, outputs, metrics and timings; or an artifact and its lineage. */

export function addShowCommand(program: Command, v: VerbContext): void {
  program
    .command('show')
    .description('params, inputs, outputs, metrics and timings of a node; or an artifact and its lineage')
    .argument('<ref>', 'node id, node key prefix, artifact digest prefix, or node:output')
    .option('-v, --verbose', 'numbers exactly as recorded, and every parameter in the lineage (default: measured numbers to 4 digits)')
    .action(async (ref: string, o: { verbose?: boolean }) => {
      const ws = await openFor(v.globals());
      try {
        const node = findNode(ws.db, ref);
        const arts = node ? [] : findArtifact(ws.db, ref);
        const verbose = o.verbose ?? false;
        if (node) v.out(await showNode(ws.db, ws.store, node, verbose));
        else if (arts.length > 0) v.out(await showArtifact(ws.db, ws.store, arts, v.options.describeArtifact, verbose));
        else throw await whyNothingMatches(v.project, v.globals(), ws, ref);
      } finally {
        ws.close();
      }
    });
}

/**
 * A node as registered. Parameters are shown as given; what was measured (metrics, the
 * environment's figures, series values) is rounded to four significant digits unless `exact`.
 */
export async function showNode(db: LineageDb, store: BlobStore, node: NodeRow, exact = false): Promise<string> {
  const measured = (json: string): unknown => (exact ? JSON.parse(json) : roundFloats(JSON.parse(json)));
  const exec = db.execution(node.execution_id);
  const attempts = db.executionsOfKey(node.key);
  const lines: string[] = [];
  lines.push(`node ${node.node_id}`);
  lines.push(`  key         ${node.key}`);
  lines.push(`  stage       ${node.stage} v${node.stage_version} (code ${node.code_digest.slice(0, 12)})`);
  lines.push(`  registered  ${node.registered_at} (execution ${node.execution_id}${exec ? `, run ${exec.run_id}` : ''})`);
  lines.push('  params');
  lines.push(indentYaml(JSON.parse(node.params), '    '));
  const edges = [...db.edges(node.key)].sort((x, y) => compareLabels(x.input, y.input));
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
    if (exec.environment) lines.push(`    environment ${JSON.stringify(measured(exec.environment))}`);
    if (exec.metrics) {
      lines.push('  metrics');
      lines.push(indentYaml(measured(exec.metrics), '    '));
    }
    const series = db.series(exec.id);
    if (series.length > 0) {
      const byName = new Map<string, number>();
      for (const s of series) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
      lines.push(`  series      ${[...byName].map(([n, c]) => `${n} (${c} points)`).join(', ')}`);
      for (const [name] of byName) {
        const pts = series.filter((s) => s.name === name);
        const last = pts[pts.length - 1]!;
        lines.push(`    ${name} last @${last.step}: ${JSON.stringify(measured(last.vals))}`);
      }
    }
  }
  const failed = attempts.filter((a) => a.status !== 'succeeded');
  if (failed.length > 0) {
    lines.push(`  attempts    ${attempts.length} (${failed.map((a) => `#${a.id} ${a.status}`).join(', ')})`);
  }
  return lines.join('\n');
}

export async function showArtifact(
  db: LineageDb,
  store: BlobStore,
  outputs: readonly OutputRow[],
  describe?: ArtifactDescriber,
  verbose = false,
): Promise<string> {
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
    lines.push(lineageTree(db, producer, '    ', verbose));
  }
  return lines.join('\n');
}
