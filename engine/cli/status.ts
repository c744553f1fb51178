import type { Command } from 'commander';
import { closure, resolveTargets } from '../plan/graph.ts';
import type { VerbContext } from './context.ts';
import { loadProject, projectHelp } from './load.ts';
import { runRepro } from './repro.ts';

/** `status [targets...]`: how many nodes of the targets are cached, and why the others would run. */

export function addStatusCommand(program: Command, v: VerbContext): void {
  program
    .command('status')
    .description('how many nodes of the targets are cached and which would run')
    .argument('[targets...]', 'targets, node ids or stage names (default: all)')
    .addHelpText('after', () => `\n${projectHelp(v.project, v.globals())}`)
    .action(async (targets: string[]) => {
      const { ws, graph, profile } = await loadProject(v.project, v.globals());
      try {
        const names = targets.length > 0 ? targets : ['all'];
        const ids = resolveTargets(graph, names);
        const stale: string[] = [];
        const s = await runRepro(
          { project: v.project, ws, graph, profile, names, ids },
          { dryRun: true, force: [], jobs: 1, keepGoing: true },
          (e) => {
            if (e.type === 'would-run') stale.push(`  ${e.node}: ${e.reasons.join('; ')}`);
          },
          true,
        );
        v.out(`profile ${profile}: ${closure(graph, ids).length} nodes, ${s.cached} cached, ${s.wouldRun} to run`);
        if (stale.length) v.out(stale.join('\n'));
      } finally {
        ws.close();
      }
    });
}
