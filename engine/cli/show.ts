import type { Command } from 'commander';
import type { LineageDb, NodeRow, OutputRow } from '../state/db.ts';
import type { BlobStore } from '../state/store.ts';
import type { ArtifactDescriber, VerbContext } from './context.ts';
import { compareLabels, fmtBytes, indentYaml, roundFloats } from './format.ts';
import { lineageTree } from './lineage.ts';
import { loadProject, openFor } from './load.ts';
import { shellWord } from './args.ts';
import { UserError } from '../core/result.ts';
import { upToDate } from '../plan/up-to-date.ts';
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
      const g = v.globals();
      // With --set, a node id names the node those parameters select, not its latest registration.
      const selected = g.set.length > 0 ? await nodeForParams(v, ref) : undefined;
      const ws = await openFor(g);
      try {
        const node = selected === undefined ? findNode(ws.db, ref) : ws.db.node(selected);
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
 * The key of node `ref` under the profile and --set overrides given, if `ref` is a node of that
 * graph: the registration `repro` would reuse. Undefined when `ref` is not a node id there (a key
 * or digest prefix); a UserError when that node has not run with these parameters.
 */
async function nodeForParams(v: VerbContext, ref: string): Promise<string | undefined> {
  const loaded = await loadProject(v.project, v.globals());
  try {
    if (!loaded.graph.nodes.has(ref)) return undefined;
    const state = await upToDate(v.project, loaded.ws, loaded.graph, [ref]);
    const key = state.keys.get(ref);
    if (key === undefined) {
      const sets = v
        .globals()
        .set.map((s) => ` --set ${shellWord(s)}`)
        .join('');
      throw new UserError(`'${ref}' has not run with these parameters (run it with 'repro ${ref}${sets}'); without --set, show gives its latest registration`);
    }
    return key;
  } finally {
    loaded.ws.close();
  }
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
