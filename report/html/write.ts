/**
 * Writes reports/index.html. The driver assembles the page after a run (and on `report`) instead
 * of a cached node computing it: the page shows provenance (timings, hosts, backends, the run log)
 * that is recorded in SQLite and is not a function of any node key, so a cached node holding it
 * would either be stale or need a key that changes with every run.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../ml/atomic-write.ts';
import { collectPage, type CollectOptions } from './collect.ts';
import { loadMarkdownRenderer } from './markdown.ts';
import { renderReportPage } from './page.ts';

export interface WrittenPage {
  readonly path: string;
  readonly reports: number;
  readonly nodes: number;
  readonly missing: readonly string[];
}

export async function writeHtmlReport(o: CollectOptions, file = join(o.ws.root, 'reports', 'index.html')): Promise<WrittenPage> {
  const model = await collectPage(o);
  await loadMarkdownRenderer();
  writeFileAtomic(file, renderReportPage(model));
  return { path: file, reports: model.reports.length, nodes: model.nodes.size, missing: model.missing };
}
