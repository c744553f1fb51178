/**
 * After `repro`: copies (atomically) each report node's files that are up to date (tables and figures) into
 * reports/, and prints the tables and figure summaries the user asked for.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReproOutcome } from '../engine/cli.ts';
import { writeFileAtomic } from '../ml/atomic-write.ts';

export async function publishReports(r: ReproOutcome): Promise<void> {
  const dir = join(r.ws.root, 'reports');
  for (const [id, outputs] of r.summary.outputs) {
    const node = r.graph.nodes.get(id);
    const report = outputs['report'];
    // Any stage that declares a `report` folder is a report (tables, figures, ground truth, quality).
    if (!node || node.spec.stage.outputs['report']?.kind !== 'dir' || !report) continue;
    const from = await r.ws.store.materialize(report);
    const texts: string[] = [];
    for (const f of readdirSync(from).sort()) {
      if (f.endsWith('.txt')) texts.push(readFileSync(join(from, f), 'utf8'));
      else writeFileAtomic(join(dir, f), readFileSync(join(from, f)));
    }
    process.stdout.write(`\n${texts.join('\n')}`);
  }
}
