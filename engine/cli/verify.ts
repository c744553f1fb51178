import type { Command } from 'commander';
import { verifyAll } from '../state/maintenance.ts';
import type { VerbContext } from './context.ts';
import { openFor } from './load.ts';

/** `verify`: every registered artifact rehashed; damaged ones unregistered. */

export function addVerifyCommand(program: Command, v: VerbContext): void {
  program
    .command('verify')
    .description('rehash every registered artifact; unregister nodes whose outputs are damaged')
    .action(async () => {
      const ws = await openFor(v.globals());
      try {
        const r = await verifyAll(ws, (p) => v.out(`  ${p.state.padEnd(8)} ${p.node}:${p.output} (will be recomputed by the next repro)`));
        v.out(`verified ${r.checked} artifacts: ${r.problems.length === 0 ? 'all intact' : `${r.problems.length} damaged`}`);
        if (r.problems.length > 0) process.exitCode = 1;
      } finally {
        ws.close();
      }
    });
}
