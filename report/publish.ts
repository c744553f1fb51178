/**
 * After `repro`: copies (atomically) each report node's files that are up to date (tables and figures) into
 * the profile's folder, reports/<profile>/, and prints the tables and figure summaries the user asked for.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReproOutcome } from '../engine/cli/program.ts';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { regimeFromGroundTruth, withRegimeLine } from './regime-line.ts';
import { profileReportsDir, shownPath } from './reports-dir.ts';

export async function publishReports(r: ReproOutcome): Promise<void> {
  const dir = profileReportsDir(r.ws.root, r.profile);
  let published = 0;
  // The world's regime, where this run produced the ground truth: beside every synthetic banner.
  const truth = r.summary.outputs.get('ground-truth')?.['report'];
  const regime = truth ? regimeFromGroundTruth(readMaybe(join(await r.ws.store.materialize(truth), 'ground-truth.md'))) : undefined;
  for (const [id, outputs] of r.summary.outputs) {
    const node = r.graph.nodes.get(id);
    const report = outputs['report'];
    // Any stage that declares a `report` folder is a report (tables, figures, ground truth, quality).
    if (!node || node.spec.stage.outputs['report']?.kind !== 'dir' || !report) continue;
    const from = await r.ws.store.materialize(report);
    const texts: string[] = [];
    for (const f of readdirSync(from).sort()) {
      const bytes = readFileSync(join(from, f));
      const text = regime && /\.(md|txt)$/.test(f) ? withRegimeLine(f, bytes.toString('utf8'), regime) : undefined;
      // A node's summary names its files as reports/<file> (it cannot know where they are published).
      if (f.endsWith('.txt')) texts.push((text ?? bytes.toString('utf8')).replace(/^(\w+): reports\//gm, `$1: ${shownPath(dir)}/`));
      else writeFileAtomic(join(dir, f), text ?? bytes);
    }
    process.stdout.write(`\n${texts.join('\n')}`);
    published++;
  }
  if (published > 0) process.stdout.write(`\nreports of profile ${r.profile}: ${shownPath(dir)}/\n`);
}

function readMaybe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
