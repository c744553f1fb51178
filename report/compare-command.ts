/**
 * The `compare A B` verb: two profiles (with --set-a / --set-b overrides, and the global --set on
 * both) or two past runs (`log` ids), side by side in the terminal, and as compare.md, compare.csv
 * and compare.html in --out (default reports/compare/<A>-vs-<B>/).
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { GlobalOpts } from '../engine/cli/program.ts';
import type { Project } from '../engine/core/project.ts';
import { openWorkspace } from '../engine/state/workspace.ts';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { compareSides, comparisonCsv, comparisonMarkdown, comparisonText, type CompareSide } from './compare.ts';
import { parseSide, profileSide, runSide, type SideSpec } from './compare-sides.ts';
import { renderComparePage } from './html/compare-page.ts';
import { profileFolderName, reportsRoot, shownPath } from './reports-dir.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

async function load(project: Project, root: string, spec: SideSpec): Promise<CompareSide> {
  if (spec.kind === 'profile') return profileSide(project, root, spec.profile, spec.set);
  const ws = await openWorkspace(root);
  try {
    return await runSide(ws, spec.run);
  } finally {
    ws.close();
  }
}

export function addCompareCommand(program: Command, project: Project): void {
  program
    .command('compare')
    .description('two profiles or two past runs side by side: parameters that differ, then every table and figure cell with B − A')
    .argument('<a>', 'a profile of params.yaml, or a run id from `log` (12 or run:12)')
    .argument('<b>', 'the same for the other side')
    .option('--set-a <key=value>', 'override a key of profile A (repeatable)', collect, [])
    .option('--set-b <key=value>', 'override a key of profile B (repeatable)', collect, [])
    .option('--out <dir>', 'folder for compare.md, compare.csv and compare.html (default reports/compare/<a>-vs-<b>)')
    .option('-v, --verbose', 'list every cell, also those one side lacks, and never shorten a line (default: fit 100 columns)')
    .action(async (a: string, b: string, o: { setA: string[]; setB: string[]; out?: string; verbose?: boolean }) => {
      const g = program.opts<GlobalOpts>();
      const sideA = await load(project, g.root, parseSide(a, [...g.set, ...o.setA]));
      const sideB = await load(project, g.root, parseSide(b, [...g.set, ...o.setB]));
      const c = compareSides(sideA, sideB);
      const dir = resolve(o.out ?? join(reportsRoot(g.root), 'compare', profileFolderName(`${a}-vs-${b}`)));
      writeFileAtomic(join(dir, 'compare.md'), comparisonMarkdown(c));
      writeFileAtomic(join(dir, 'compare.csv'), comparisonCsv(c));
      writeFileAtomic(join(dir, 'compare.html'), renderComparePage(c));
      process.stdout.write(comparisonText(c, { verbose: o.verbose ?? false }));
      process.stdout.write(`\nwritten: ${shownPath(join(dir, 'compare.md'))}, compare.csv, compare.html\n`);
    });
}
