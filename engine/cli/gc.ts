import type { Command } from 'commander';
import { collectGarbage } from '../state/maintenance.ts';
import type { VerbContext } from './context.ts';
import { fmtBytes } from './format.ts';
import { openFor } from './load.ts';

/** `gc [--apply] [--scratch]`: what no registered node refers to, listed or removed. */

export function addGcCommand(program: Command, v: VerbContext): void {
  program
    .command('gc')
    .description('remove blobs that no registered node refers to (lists them unless --apply)')
    .option('--apply', 'delete them')
    .option('--scratch', 'also delete the checkpoints of unfinished nodes (a later repro then starts them over)')
    .action(async (o: { apply?: boolean; scratch?: boolean }) => {
      const ws = await openFor(v.globals());
      try {
        const r = await collectGarbage(ws, o.apply ?? false, { scratch: o.scratch ? 'all' : 'done' });
        const kept =
          r.resumable > 0
            ? `; kept ${r.resumable} scratch folders of unfinished or running nodes${o.scratch ? ' (running)' : ' (gc --scratch removes those not running)'}`
            : '';
        const jobs = r.jobFolders > 0 ? `, ${r.jobFolders} Slurm job folders of interrupted runs` : '';
        const keptJobs =
          r.jobFoldersKept > 0
            ? `; kept ${r.jobFoldersKept} Slurm job folders of live runs or queued jobs${r.queueError ? ` (squeue failed: ${r.queueError})` : ''}`
            : '';
        v.out(
          `${r.applied ? 'removed' : 'would remove'} ${r.unreferenced} blobs, ${r.views} folder views${jobs} and ${r.scratch} scratch folders (${fmtBytes(r.bytes)})${kept}${keptJobs}${r.applied ? '' : '; run gc --apply to delete'}`,
        );
      } finally {
        ws.close();
      }
    });
}
