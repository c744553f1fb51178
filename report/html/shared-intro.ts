/**
 * What every report of a page repeats: the synthetic-data banner, the world's regime, the profile
 * line and its notes on data and models. The page shows such blocks once, above the reports, and
 * leaves them out of each report's section. A block is shared when it opens at least two reports
 * word for word and is a quote (a banner) or a list (notes), or the line that introduces such a
 * list; a table's own caption stays with its table even where two tables share it.
 */
import { introBlocks, renderIntroBlocks } from './markdown.ts';
import type { ProvenanceNode, ReportNodeView } from './model.ts';
import { nodeLinker } from './sections.ts';

const markdowns = (r: ReportNodeView): string[] =>
  r.files.filter((f) => f.name.endsWith('.md') && typeof f.content === 'string').map((f) => f.content as string);

/** The keys (Markdown sources) of the intro blocks the page shows once. */
export function sharedIntroKeys(reports: readonly ReportNodeView[]): Set<string> {
  const shared = new Set<string>();
  if (reports.length < 2) return shared;
  const count = new Map<string, number>();
  const perReport = reports.map((r) => markdowns(r).map(introBlocks));
  for (const docs of perReport) for (const key of new Set(docs.flat().map((b) => b.key))) count.set(key, (count.get(key) ?? 0) + 1);
  const repeated = (key: string) => (count.get(key) ?? 0) >= 2;
  for (const doc of perReport.flat()) {
    doc.forEach((b, i) => {
      if (!repeated(b.key)) return;
      if (b.type === 'blockquote' || b.type === 'list') shared.add(b.key);
      const next = doc[i + 1];
      if (b.type === 'paragraph' && next?.type === 'list' && repeated(next.key)) shared.add(b.key);
    });
  }
  return shared;
}

/** The shared blocks once, in the order the reports first show them (empty when none). */
export function sharedIntroSection(reports: readonly ReportNodeView[], nodes: ReadonlyMap<string, ProvenanceNode>, keys: ReadonlySet<string>): string {
  if (keys.size === 0) return '';
  const left = new Set(keys);
  const parts: string[] = [];
  for (const r of reports) {
    for (const md of markdowns(r)) {
      const here = new Set(
        introBlocks(md)
          .filter((b) => left.has(b.key))
          .map((b) => b.key),
      );
      if (here.size === 0) continue;
      parts.push(renderIntroBlocks(md, { files: r.files, nodeHref: nodeLinker(r, nodes), used: new Set() }, here));
      for (const k of here) left.delete(k);
    }
  }
  return (
    `<section class="block" id="about" aria-labelledby="about-h"><h2 id="about-h">About these results</h2>` +
    `<p class="muted">What the reports below each state about the data, the profile and the models, shown once here (each Markdown report keeps its own copy).</p>` +
    `<div class="prose">${parts.join('\n')}</div></section>`
  );
}
