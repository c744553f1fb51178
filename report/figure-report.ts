/**
 * reports/<profile>/<fig>.md for a figure: the PNG (or the SVG where no font was found), the paper's
 * statements beside our summary, the plotted numbers with their nodes; <fig>.csv with one line per
 * plotted point; <fig>.svg and <fig>.png from render.ts. All written atomically.
 */
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { DEFENCE_CSV_HEADER, defenceCsvRows, defenceMarkdown } from './defence-check.ts';
import type { NumbersTable } from './figure-claims.ts';
import type { FigureData } from './figures.ts';
import { notesMarkdown, profileSummary, syntheticBanner } from './profile.ts';
import { writeFigureFiles, type RenderOptions, type WrittenFigure } from './render.ts';

const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (c) => `\\${c}`);

function numbersMarkdown(t: NumbersTable): string[] {
  const last = t.header.length - 1;
  return [
    `### ${t.title}`,
    '',
    `| ${t.header.map(mdEscape).join(' | ')} |`,
    `|${t.header.map((_, i) => (i === last ? '---' : '---:')).join('|')}|`,
    ...t.rows.map(
      (r) =>
        `| ${r
          .map((v, i) =>
            i === last
              ? v
                  .split(' ')
                  .filter(Boolean)
                  .map((n) => `\`${n}\``)
                  .join(' ')
              : mdEscape(v),
          )
          .join(' | ')} |`,
    ),
    '',
  ];
}

export function figureMarkdown(fig: FigureData, files: WrittenFigure): string {
  const out = [`# ${fig.title}`, ''];
  const banner = syntheticBanner(fig.profile);
  if (banner) out.push(`> **⚠ ${banner}**`, '');
  out.push(`Profile: \`${fig.profile.name}\`${profileSummary(fig.profile)}.`, '');
  out.push(...notesMarkdown(fig.profile));
  const svg = basename(files.svgPath);
  if (files.pngPath) out.push(`![${fig.title}](${basename(files.pngPath)})`, '', `Vector version: [${svg}](${svg}).`, '');
  else out.push(`![${fig.title}](${svg})`, '');
  for (const w of files.warnings) out.push(`> ${w}`, '');
  out.push("## The paper's statements beside ours", '');
  out.push(
    "The paper's figures are not in its text; these are the statements its Results section makes about them " +
      '(values in %, CIFAR-10), and the matching summary of our data.',
    '',
  );
  out.push('| statement | paper | ours |', '|---|---|---|');
  for (const c of fig.claims) out.push(`| ${mdEscape(c.claim)} | ${mdEscape(c.paper)} | ${mdEscape(c.ours)} |`);
  out.push('');
  out.push('## Plotted numbers and the runs behind them', '');
  for (const t of fig.numbers) out.push(...numbersMarkdown(t));
  if (fig.defence) out.push(...defenceMarkdown(fig.defence));
  return out.join('\n');
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
export const FIGURE_CSV_HEADER = ['figure', 'profile', 'synthetic', 'panel', 'series', 'x', 'y', 'nodes'] as const;

/** One line per plotted point (x and y as plotted: steps or % on x, % on y). */
export function figureCsv(fig: FigureData): string {
  const lines = [FIGURE_CSV_HEADER.join(',')];
  for (const p of fig.points) {
    lines.push(
      [fig.id, fig.profile.name, String(fig.profile.synthetic), p.panel, p.series, String(p.x), String(p.y), p.nodes.join(' ')].map(csvField).join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** `<fig>-defence-check.csv`: one line per model, α and AutoAttack budget. */
export function defenceCsv(fig: FigureData): string | null {
  if (!fig.defence) return null;
  const lines = [DEFENCE_CSV_HEADER.join(','), ...defenceCsvRows(fig.defence).map((r) => r.map(csvField).join(','))];
  return lines.join('\n') + '\n';
}

/** A few lines for the terminal: where the files are and the paper's statements beside ours. */
export function figureText(fig: FigureData, files: WrittenFigure, markdownPath: string): string {
  const out = [`${fig.title} — profile ${fig.profile.name}`];
  const banner = syntheticBanner(fig.profile);
  if (banner) out.push(`!! ${banner}`);
  // Named as reports/<file>, not where the node wrote them: the text is part of the node's output, so
  // a staging path would change its digest on every run. publish.ts puts the profile's folder in.
  out.push(`figure: reports/${basename(files.pngPath ?? files.svgPath)}`, `report: reports/${basename(markdownPath)}`);
  for (const w of files.warnings) out.push(`warning: ${w}`);
  for (const c of fig.claims) out.push(`  ${c.claim}: paper ${c.paper}; ours ${c.ours}`);
  for (const r of fig.defence ?? []) {
    if (r.flagged)
      out.push(
        `  defence check: ${r.model} at α=${r.alpha}: PGD ${(r.pgd.robustAccuracy * 100).toFixed(1)} % vs AutoAttack ${(r.autoAttack.robustAccuracy * 100).toFixed(1)} %: a sign of gradient masking`,
      );
  }
  return out.join('\n') + '\n';
}

export interface WrittenFigureReport extends WrittenFigure {
  readonly markdownPath: string;
  readonly csvPath: string;
  readonly text: string;
}

/** Writes `<dir>/<id>.svg`, `.png`, `.md` and `.csv` (and `<id>-defence-check.csv` for Figure 3 with AutoAttack). */
export async function writeFigureReport(fig: FigureData, dir: string, options: RenderOptions = {}): Promise<WrittenFigureReport> {
  const files = await writeFigureFiles(fig.spec, join(dir, fig.id), options);
  const markdownPath = join(dir, `${fig.id}.md`);
  const csvPath = join(dir, `${fig.id}.csv`);
  writeFileAtomic(csvPath, figureCsv(fig));
  const defence = defenceCsv(fig);
  if (defence !== null) writeFileAtomic(join(dir, `${fig.id}-defence-check.csv`), defence);
  writeFileAtomic(markdownPath, figureMarkdown(fig, files));
  return { ...files, markdownPath, csvPath, text: figureText(fig, files, markdownPath) };
}
