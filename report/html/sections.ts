/**
 * One report node as a section of the page, whatever its stage: its Markdown (title, banner and
 * prose; figures inline), a result grid for every CSV of table shape (ours beside the paper's, the
 * difference shaded), and every other CSV as a data table. Every value links to the node it came
 * from, so any report stage that writes a `report` folder of Markdown, CSV and SVG fits.
 */
import { csvNumber, csvObjects, csvShape, parseCsv, type Csv } from './csv.ts';
import { esc, fmtDelta, fmtNumber } from './escape.ts';
import { figureHtml, renderMarkdown, type MarkdownContext } from './markdown.ts';
import { anchorOf, nodeAnchor, type ProvenanceNode, type ReportNodeView } from './model.ts';

/** Node id → page link, for the nodes upstream of one report (nearest registration first). */
export function nodeLinker(report: ReportNodeView, nodes: ReadonlyMap<string, ProvenanceNode>): (id: string) => string | undefined {
  const byId = new Map<string, string>();
  const queue = [report.key];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const key = queue.shift()!;
    const n = nodes.get(key);
    if (!n || seen.has(key)) continue;
    seen.add(key);
    if (!byId.has(n.nodeId)) byId.set(n.nodeId, `#${nodeAnchor(key)}`);
    for (const e of n.inputs) queue.push(e.fromKey);
  }
  return (id) => byId.get(id);
}

/** The node ids of a CSV `nodes` field as links (the first one is the value's own node). */
function nodeLinks(field: string | undefined, href: (id: string) => string | undefined): string {
  const ids = (field ?? '').split(/\s+/).filter(Boolean);
  if (ids.length === 0) return '—';
  return ids
    .map((id) => {
      const h = href(id);
      return h ? `<a class="node-link" href="${esc(h)}"><code>${esc(id)}</code></a>` : `<code>${esc(id)}</code>`;
    })
    .join(' ');
}

/**
 * Shading of ours − paper, in points: blue where ours is higher, orange where lower (a pair that
 * reads in colour-blind vision), full strength at 30 points; the value is also printed.
 */
function shade(delta: number): string {
  const a = Math.min(1, Math.abs(delta) / 30) * 0.55;
  const rgb = delta >= 0 ? '47, 109, 181' : '217, 113, 28';
  return `background-color: rgba(${rgb}, ${a.toFixed(3)})`;
}

const label = (s: string) => esc(s);

/**
 * A result table: rows × columns of the CSV, each cell ours, the paper's and their difference.
 * Columns named `group/column` (ResNet-50/D) form one block per group, as the Markdown does: the
 * blocks sit side by side on a wide screen and stack on a phone.
 */
/** Why a block or column of a result grid has no value at all (`label`: its name), in a few words. */
export type EmptyReason = (label: string, kind: 'block' | 'column' | 'columns') => string;

/** Every string a parameter tree holds, keys included. */
function namesIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) for (const v of value) namesIn(v, out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      namesIn(v, out);
    }
  return out;
}

/**
 * The reasons a profile gives for empty blocks and columns, read from its parameters: a block (a
 * model) that no parameter names is one the profile does not train; otherwise no node of the
 * profile computes those cells (a dataset, augmentation or learning rate left out of its lists).
 */
export function emptyReasons(profile: string, params: unknown): EmptyReason {
  const names = namesIn(params);
  return (label, kind) =>
    kind === 'block' && !names.has(label)
      ? `profile ${profile} does not train a ${label}: none of its parameters names one`
      : `no node of profile ${profile} computes ${kind === 'block' ? 'these cells' : kind === 'column' ? 'this column' : 'these columns'}`;
}

export function resultGrid(csv: Csv, caption: string, href: (id: string) => string | undefined, idBase: string, why?: EmptyReason): string {
  const lines = csvObjects(csv);
  const rows = [...new Set(lines.map((l) => l['row']!))];
  const columns = [...new Set(lines.map((l) => l['column']!))];
  const at = new Map(lines.map((l) => [`${l['row']}\u0000${l['column']}`, l]));
  const hasPaper = csv.header.includes('paper');
  const grouped = columns.every((c) => c.includes('/'));
  const blocks = new Map<string, string[]>();
  for (const c of columns) {
    const g = grouped ? c.slice(0, c.indexOf('/')) : '';
    blocks.set(g, [...(blocks.get(g) ?? []), c]);
  }
  const sub = (c: string) => (grouped ? c.slice(c.indexOf('/') + 1) : c);
  let b = 0;
  const tables = [...blocks].map(([group, cols]) => {
    b++;
    const head = `<tr><th scope="col" class="corner">${group ? esc(group) : 'row'}</th>${cols.map((c) => `<th scope="col" data-column="${esc(c)}">${label(sub(c))}</th>`).join('')}</tr>`;
    const body = rows.map((r, i) => {
      const cells = cols.map((c, j) => {
        const l = at.get(`${r}\u0000${c}`);
        const ours = csvNumber(l?.['ours']);
        const paper = hasPaper ? csvNumber(l?.['paper']) : null;
        const first = (l?.['nodes'] ?? '').split(/\s+/).find(Boolean);
        const link = first ? href(first) : undefined;
        const delta = ours !== null && paper !== null ? ours - paper : null;
        const parts = [
          `<span class="ours">${ours === null ? '—' : fmtNumber(ours)}</span>`,
          hasPaper ? `<span class="paper">paper ${paper === null ? '—' : esc(String(paper))}</span>` : '',
          delta === null ? '' : `<span class="delta">Δ ${fmtDelta(delta)}</span>`,
          l?.['source'] ? `<span class="source">${esc(l['source'])}</span>` : '',
        ].join('');
        const name = `${r}, ${c}: ours ${ours === null ? 'none' : fmtNumber(ours)}${hasPaper ? `, paper ${paper ?? 'none'}` : ''}${l?.['source'] ? `, from ${l['source']}` : ''}`;
        const inner = link
          ? `<a class="cell-link" id="${idBase}-${b}-${i}-${j}" href="${esc(link)}" aria-label="${esc(name)}; open its provenance">${parts}</a>`
          : parts;
        return `<td class="cell"${delta === null ? '' : ` style="${shade(delta)}"`} data-row="${esc(r)}" data-column="${esc(c)}">${inner}</td>`;
      });
      return `<tr><th scope="row">${label(r)}</th>${cells.join('')}</tr>`;
    });
    const cap = group ? `${caption}: ${group}` : caption;
    // A block or column without a single value or node says why, so an empty column is not read as a failure.
    const empty = (c: string) =>
      rows.every((r) => {
        const l = at.get(`${r}\u0000${c}`);
        return csvNumber(l?.['ours']) === null && (l?.['nodes'] ?? '').trim() === '';
      });
    const emptyCols = cols.filter(empty);
    const notes =
      why === undefined || emptyCols.length === 0
        ? ''
        : emptyCols.length === cols.length && group
          ? `<p class="why">No values: ${esc(why(group, 'block'))}.</p>`
          : `<p class="why">${emptyCols.map((c) => esc(sub(c))).join(', ')}: no values: ${esc(why(emptyCols.map(sub).join(', '), emptyCols.length > 1 ? 'columns' : 'column'))}.</p>`;
    // The cue is filled in by the page's script where the table is wider than its box (a phone).
    return (
      `<div class="grid-block"><p class="scroll-cue" hidden></p><div class="scroll" tabindex="0" role="region" aria-label="${esc(cap)}">` +
      `<table class="grid" data-csv="${esc(caption)}"><caption>${esc(cap)}</caption><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div>${notes}</div>`
    );
  });
  return `<div class="grids">${tables.join('')}</div>`;
}

/** Any other CSV as a plain table; a `nodes` column becomes provenance links. */
export function dataTable(csv: Csv, caption: string, href: (id: string) => string | undefined): string {
  const nodesAt = csv.header.indexOf('nodes');
  const head = `<tr>${csv.header.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr>`;
  const body = csv.rows.map(
    (r) =>
      `<tr>${r
        .map((v, i) => {
          if (i === nodesAt) return `<td class="nodes">${nodeLinks(v, href)}</td>`;
          const num = csvNumber(v) !== null;
          return `<td${num ? ' class="num"' : ''}>${esc(v)}</td>`;
        })
        .join('')}</tr>`,
  );
  return `<div class="scroll" tabindex="0" role="region" aria-label="${esc(caption)}"><table class="data" data-csv="${esc(caption)}"><caption>${esc(caption)}</caption><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div>`;
}

const LEGEND =
  '<p class="legend"><span><span class="swatch" style="background: rgba(47, 109, 181, .4)"></span>ours above the paper</span>' +
  '<span><span class="swatch" style="background: rgba(217, 113, 28, .4)"></span>ours below the paper</span>' +
  '<span>shade ∝ |Δ|, full at 30 points; each cell: <strong>ours</strong>, the paper’s value, Δ = ours − paper. Select a cell for its provenance.</span></p>';

export interface ReportSection {
  readonly anchor: string;
  readonly title: string;
  readonly html: string;
  /** One article per plotted point of its figures (in the page's provenance list). */
  readonly points: readonly string[];
}

/** A plotted point's provenance: its values and every node behind it. */
function pointArticle(id: string, figure: string, index: number, line: Readonly<Record<string, string>>, href: (id: string) => string | undefined): string {
  const fields = Object.entries(line).filter(([k]) => k !== 'nodes');
  const what = [line['panel'], line['series']].filter(Boolean).join(', ');
  return [
    `<article class="node point" id="${id}" tabindex="-1" aria-labelledby="${id}-h">`,
    `<header><h3 id="${id}-h"><span class="badge">point</span> ${esc(figure)} #${index}${what ? `: ${esc(what)}` : ''}</h3><a class="close" href="#provenance" aria-label="Close">Close ✕</a></header>`,
    `<dl class="facts">${fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`,
    `<h4>Nodes behind this point</h4><p>${nodeLinks(line['nodes'], href)}</p>`,
    '</article>',
  ].join('\n');
}

export interface SectionOptions {
  /** Intro blocks the page shows once above every report (left out here). */
  readonly shared?: ReadonlySet<string>;
  /** Why a block or column of a result grid is empty. */
  readonly why?: EmptyReason;
}

export function reportSection(r: ReportNodeView, nodes: ReadonlyMap<string, ProvenanceNode>, o: SectionOptions = {}): ReportSection {
  const href = nodeLinker(r, nodes);
  const anchor = anchorOf('r', r.id);
  const used = new Set<string>();
  const text = (name: string) => {
    const f = r.files.find((x) => x.name === name);
    return f && typeof f.content === 'string' ? f.content : undefined;
  };
  const csvs = r.files.filter((f) => f.name.endsWith('.csv')).map((f) => ({ name: f.name, csv: parseCsv(text(f.name)!) }));
  const points: string[] = [];
  const pointIds = new Map<string, string>();
  for (const c of csvs) {
    if (csvShape(c.csv) !== 'points') continue;
    const svgName = c.name.replace(/\.csv$/, '.svg');
    if (!r.files.some((f) => f.name === svgName)) continue;
    csvObjects(c.csv).forEach((line, i) => {
      const id = `${anchor}-${anchorOf('pt', c.name.replace(/\.csv$/, ''))}-${i}`;
      pointIds.set(`${svgName}\u0000${i}`, id);
      points.push(pointArticle(id, svgName.replace(/\.svg$/, ''), i, line, href));
    });
  }
  const pointHref = (svgName: string, i: number) => {
    const id = pointIds.get(`${svgName}\u0000${i}`);
    return id ? `#${id}` : undefined;
  };
  const ctx: MarkdownContext = { files: r.files, nodeHref: href, used, pointHref };
  const grids = csvs.filter((c) => csvShape(c.csv) === 'cells');
  const others = csvs.filter((c) => csvShape(c.csv) !== 'cells');
  const mds = r.files.filter((f) => f.name.endsWith('.md'));
  let title: string | undefined;
  const parts: string[] = [];
  const tail: string[] = [];
  let dropped = 0;
  for (const f of mds) {
    const md = renderMarkdown(f.content as string, ctx, o.shared);
    title ??= md.title;
    dropped += md.dropped;
    parts.push(`<div class="prose">${md.intro}</div>`);
    // With a result grid the Markdown's own tables repeat it: they stay, folded, below it.
    if (grids.length > 0)
      tail.push(
        `<details class="more"><summary>The Markdown report (${esc(f.name)}), with the runs behind each cell</summary><div class="prose">${md.body}</div></details>`,
      );
    else parts.push(`<div class="prose">${md.body}</div>`);
  }
  if (grids.length > 0) parts.push(LEGEND);
  for (const g of grids) parts.push(resultGrid(g.csv, g.name, href, anchor, o.why));
  // Figures no Markdown placed (a report without Markdown, or an extra SVG).
  for (const f of r.files) {
    if (used.has(f.name) || !/\.(svg|png)$/.test(f.name)) continue;
    if (f.name.endsWith('.png') && r.files.some((x) => x.name === f.name.replace(/\.png$/, '.svg'))) continue;
    parts.push(figureHtml(r.files, f.name, f.name, used, pointHref) ?? '');
  }
  for (const o of others) {
    parts.push(`<details class="more"><summary>Data: ${esc(o.name)} (${o.csv.rows.length} lines)</summary>${dataTable(o.csv, o.name, href)}</details>`);
  }
  parts.push(...tail);
  const heading = title ?? r.id;
  const html = [
    `<section class="report" id="${anchor}" aria-labelledby="${anchor}-h">`,
    `<h2 id="${anchor}-h">${esc(heading)}</h2>`,
    `<p class="meta">report node <a class="node-link" href="#${nodeAnchor(r.key)}"><code>${esc(r.id)}</code></a>${r.group ? ` · target <code>${esc(r.group)}</code>` : ''}` +
      `${dropped > 0 ? ' · data, profile and models: <a href="#about">About these results</a>' : ''}</p>`,
    ...parts,
    '</section>',
  ].join('\n');
  return { anchor, title: heading, html, points };
}
