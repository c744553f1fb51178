import { Option, type Command } from 'commander';
import { closure, resolveTargets } from '../plan/graph.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { refsOf } from '../core/project.ts';
import type { VerbContext } from './context.ts';
import { loadProject, projectHelp } from './load.ts';

/** `dag [targets...]`: the graph of the targets, as text, Mermaid or Graphviz dot. */

export function addDagCommand(program: Command, v: VerbContext): void {
  program
    .command('dag')
    .description('print the graph of the targets')
    .argument('[targets...]', 'targets, node ids or stage names (default: all)')
    .addOption(new Option('--mermaid', 'as a Mermaid flowchart').conflicts('dot'))
    .option('--dot', 'as Graphviz dot')
    .addHelpText('after', () => `\n${projectHelp(v.project, v.globals())}`)
    .action(async (targets: string[], o: { mermaid?: boolean; dot?: boolean }) => {
      const { ws, graph } = await loadProject(v.project, v.globals());
      try {
        const ids = resolveTargets(graph, targets.length > 0 ? targets : ['all']);
        v.out(dagText(graph, closure(graph, ids), o.mermaid ? 'mermaid' : o.dot ? 'dot' : 'text'));
      } finally {
        ws.close();
      }
    });
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
