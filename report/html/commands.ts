/**
 * The report verbs of the CLI: `report [targets...]` writes the profile's page,
 * reports/<profile>/index.html, from what is up to date, and the same page is rewritten after every
 * `repro` (pageAfterRepro); either way reports/index.html then lists every profile's results.
 * `compare` lives in ../compare-command.ts.
 */
import type { Command } from 'commander';
import { loadProject, type GlobalOpts, type ReproOutcome } from '../../engine/cli/program.ts';
import { resolveTargets } from '../../engine/plan/graph.ts';
import type { Project } from '../../engine/core/project.ts';
import { shownPath, writeReportsIndex } from '../reports-dir.ts';
import { writeHtmlReport, type WrittenPage } from './write.ts';

const say = (w: WrittenPage) =>
  `html report of profile ${w.profile}: ${shownPath(w.path)} (${w.reports} reports, ${w.nodes} nodes with provenance${w.missing.length ? `; not up to date: ${w.missing.join(', ')}` : ''}${w.unchanged ? '; unchanged since it was assembled' : ''})\n`;

const sayIndex = (path: string) => `every profile's results: ${shownPath(path)}\n`;

/** After `repro`: the page of every report node of the profile that is up to date (not only the targets). */
export async function pageAfterRepro(project: Project, r: ReproOutcome): Promise<void> {
  try {
    const w = await writeHtmlReport({ project, ws: r.ws, graph: r.graph, profile: r.profile, params: r.params, overrides: r.overrides });
    process.stdout.write(say(w));
    process.stdout.write(sayIndex(writeReportsIndex(r.ws.root)));
  } catch (e) {
    // The run's results are registered already; a page that cannot be built must not hide them.
    process.stderr.write(`warning: the html report of profile ${r.profile} was not written: ${e instanceof Error ? e.message : String(e)} (try 'report')\n`);
  }
}

export function addReportCommand(program: Command, project: Project): void {
  program
    .command('report')
    .description(
      "write reports/<profile>/index.html: every up-to-date table and figure of the profile with the provenance of each number (and reports/index.html, every profile's results)",
    )
    .argument('[targets...]', 'only the reports these targets need (default: all)', [])
    .option('--out <file>', 'where to write the page (default reports/<profile>/index.html)')
    .action(async (targets: string[], o: { out?: string }) => {
      const globals = program.opts<GlobalOpts>();
      const { ws, graph, profile, params } = await loadProject(project, globals);
      try {
        const ids = targets.length > 0 ? resolveTargets(graph, targets) : undefined;
        const w = await writeHtmlReport({ project, ws, graph, profile, params, overrides: globals.set, ...(ids ? { targets: ids } : {}) }, o.out);
        process.stdout.write(say(w));
        if (o.out === undefined) process.stdout.write(sayIndex(writeReportsIndex(ws.root)));
      } finally {
        ws.close();
      }
    });
}
