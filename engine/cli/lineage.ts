import type { Command } from 'commander';
import type { LineageDb, NodeRow } from '../state/db.ts';
import type { VerbContext } from './context.ts';
import { WIDTH, compareLabels, fitPairs, paramPairs } from './format.ts';
import { openFor } from './load.ts';
import { findArtifact, findNode, whyNothingMatches } from './refs.ts';

/** `lineage <ref>`: the upstream tree of a node or artifact, back to its sources. */

export function addLineageCommand(program: Command, v: VerbContext): void {
  program
    .command('lineage')
    .description('the upstream tree of a node or artifact, back to its sources, with parameters')
    .argument('<ref>', 'node id, key prefix, artifact digest prefix, or node:output')
    .option('-v, --verbose', `every parameter, however wide the lines get (default: lines fit ${WIDTH} columns)`)
    .action(async (ref: string, o: { verbose?: boolean }) => {
      const ws = await openFor(v.globals());
      try {
        const node =
          findNode(ws.db, ref) ??
          (() => {
            const a = findArtifact(ws.db, ref)[0];
            return a ? ws.db.node(a.node_key) : undefined;
          })();
        if (!node) throw await whyNothingMatches(v.project, v.globals(), ws, ref);
        v.out(lineageTree(ws.db, node, '', o.verbose ?? false));
      } finally {
        ws.close();
      }
    });
}

/**
 * The upstream tree of a node back to its sources, a line per node: its id, stage and key, then
 * its parameters as `a.b=value` pairs, as many as fit in WIDTH columns (`…+N` for the rest), or
 * all of them as JSON when `verbose`. List inputs come in index order (`evals[2]` before `evals[10]`).
 */
export function lineageTree(db: LineageDb, node: NodeRow, pad = '', verbose = false): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (n: NodeRow, prefix: string, childPrefix: string, via: string) => {
    const again = seen.has(n.key);
    const head = `${pad}${prefix}${via}${n.node_id}  [${n.stage} ${n.key.slice(0, 10)}]`;
    const params = verbose ? n.params : fitPairs(paramPairs(JSON.parse(n.params)), WIDTH - head.length - 2);
    lines.push(again ? `${head} (see above)` : params ? `${head}  ${params}` : head);
    if (again) return;
    seen.add(n.key);
    const edges = [...db.edges(n.key)].sort((a, b) => compareLabels(a.input, b.input));
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
