import type { Command } from 'commander';
import type { LineageDb } from '../state/db.ts';
import { UserError } from '../core/result.ts';
import { positiveInt, runRef } from './args.ts';
import type { VerbContext } from './context.ts';
import { openFor } from './load.ts';
import { fmtDuration } from './reporter.ts';

/** `log [run]`: past runs, or the node executions of one run. */

export function addLogCommand(program: Command, v: VerbContext): void {
  program
    .command('log')
    .description('past runs, or the node executions of one run')
    .argument('[run]', 'run id from the list (12 or run:12)')
    .option('--limit <n>', 'runs to list', positiveInt, 20)
    .option('--dry-runs', 'list dry runs too (they run nothing, so they are left out by default)')
    .action(async (run: string | undefined, o: { limit: number; dryRuns?: boolean }) => {
      const ws = await openFor(v.globals());
      try {
        if (run === undefined) v.out(runLog(ws.db, o.limit, o.dryRuns ?? false));
        else {
          const id = runRef(run);
          if (ws.db.run(id) === undefined) throw new UserError(`no run ${id} (list the runs with 'log')`);
          v.out(runDetail(ws.db, id));
        }
      } finally {
        ws.close();
      }
    });
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
