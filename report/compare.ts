/**
 * `compare A B`: the cells of every report both sides have, side by side with their difference,
 * and the parameters that differ, listed first. Generic over report folders: a CSV of table shape
 * (row, column, ours) gives one cell per row and column; a CSV of points (panel, series, x, y) one
 * per panel, series and x; any other CSV one per numeric field of each line, keyed by its text
 * fields. A cell present on one side only is kept, marked missing on the other.
 */
import { canonicalJson } from '../engine/core/canonical-json.ts';
import { csvNumber, csvObjects, csvShape, parseCsv } from './html/csv.ts';
import type { ProvenanceNode, ReportFile } from './html/model.ts';
import { regimeFromGroundTruth, REGIME_PREFIX } from './regime-line.ts';

/** What one side contributes: its report folders and the parameters behind them. */
export interface CompareSide {
  /** How the user named it, e.g. `profile demo` or `run 12 (demo)`. */
  readonly label: string;
  /** Report node id → the files of its `report` folder. */
  readonly reports: ReadonlyMap<string, readonly ReportFile[]>;
  /** The profile's effective parameters, when the side is a profile. */
  readonly profileParams: unknown;
  /** Every node behind the reports (for node-level parameter differences). */
  readonly nodes: ReadonlyMap<string, ProvenanceNode>;
  /** Report nodes of a profile side that are not up to date (they are compared as missing). */
  readonly notComputed?: readonly string[];
}

export interface CompareCell {
  readonly report: string;
  readonly file: string;
  /** Human-readable identity of the cell within its file, e.g. `rot30 / STN/D*` or `steps / rot30 / x=2`. */
  readonly cell: string;
  /** Which value of the cell: `ours`, `y`, or a numeric column of a plain CSV. */
  readonly field: string;
  readonly a: number | null | undefined;
  readonly b: number | null | undefined;
}

export type CellStatus = 'both' | 'only-a' | 'only-b';

export const cellStatus = (c: CompareCell): CellStatus => (c.a === undefined ? 'only-b' : c.b === undefined ? 'only-a' : 'both');
/** b − a where both sides have a number. */
export const cellDiff = (c: CompareCell): number | null => (typeof c.a === 'number' && typeof c.b === 'number' ? c.b - c.a : null);

export interface ParamDifference {
  /** `profile` for a profile key, else the stage whose nodes differ. */
  readonly scope: string;
  readonly path: string;
  readonly a: string;
  readonly b: string;
  /** How many nodes show this difference (0 for a profile key). */
  readonly nodes: number;
}

export interface Comparison {
  readonly a: string;
  readonly b: string;
  readonly params: readonly ParamDifference[];
  /** Report node ids present on one side only. */
  readonly reportsOnlyA: readonly string[];
  readonly reportsOnlyB: readonly string[];
  readonly cells: readonly CompareCell[];
  /** Hints for sides with reports not computed, e.g. "B: 3 reports not up to date (run repro)". */
  readonly notes: readonly string[];
  /** Each side's world regime (synthetic data with its ground truth up to date), without the prefix. */
  readonly regimes: { readonly a?: string; readonly b?: string };
}

/** The regime line of a side's ground-truth report, if it has one. */
export function sideRegime(side: Pick<CompareSide, 'reports'>): string | undefined {
  for (const files of side.reports.values()) {
    const md = files.find((f) => f.name === 'ground-truth.md');
    if (!md) continue;
    const text = typeof md.content === 'string' ? md.content : new TextDecoder().decode(md.content);
    const line = regimeFromGroundTruth(text);
    if (line !== undefined) return line.slice(REGIME_PREFIX.length).trim();
  }
  return undefined;
}

/** Dotted paths to leaves; lists are leaves (a sweep list differs as a whole). */
export function flatten(value: unknown, prefix = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, canonicalJson(value));
  }
  return out;
}

function diffMaps(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): Array<{ path: string; a: string; b: string }> {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => ({ path: k, a: a.get(k) ?? '(absent)', b: b.get(k) ?? '(absent)' }));
}

/** Node parameters that differ between same-id nodes of the two sides, grouped by stage and value. */
function nodeDifferences(a: CompareSide, b: CompareSide): ParamDifference[] {
  const byId = (s: CompareSide) => {
    const m = new Map<string, ProvenanceNode>();
    for (const n of s.nodes.values()) if (!m.has(n.nodeId)) m.set(n.nodeId, n);
    return m;
  };
  const na = byId(a);
  const nb = byId(b);
  const groups = new Map<string, ParamDifference>();
  for (const [id, x] of na) {
    const y = nb.get(id);
    if (!y) continue;
    // Code is not a parameter, but a stage whose code changed explains a difference as well.
    const code =
      x.codeDigest === y.codeDigest && x.stageVersion === y.stageVersion
        ? []
        : [{ path: '(code)', a: `v${x.stageVersion} ${x.codeDigest.slice(0, 12)}`, b: `v${y.stageVersion} ${y.codeDigest.slice(0, 12)}` }];
    for (const d of [...code, ...diffMaps(flatten(x.params), flatten(y.params))]) {
      const k = `${x.stage}\u0000${d.path}\u0000${d.a}\u0000${d.b}`;
      const g = groups.get(k);
      groups.set(k, { scope: x.stage, path: d.path, a: d.a, b: d.b, nodes: (g?.nodes ?? 0) + 1 });
    }
  }
  return [...groups.values()].sort((p, q) => p.scope.localeCompare(q.scope) || p.path.localeCompare(q.path));
}

const text = (f: ReportFile) => (typeof f.content === 'string' ? f.content : undefined);

/** Every comparable value of one report folder, keyed by file, cell and field. */
export function cellsOf(report: string, files: readonly ReportFile[]): Map<string, Omit<CompareCell, 'a' | 'b'> & { value: number | null }> {
  const out = new Map<string, Omit<CompareCell, 'a' | 'b'> & { value: number | null }>();
  const put = (file: string, cell: string, field: string, value: number | null) => {
    // Two lines with one identity (a point drawn twice) keep both, numbered.
    let id = `${file}\u0000${cell}\u0000${field}`;
    for (let n = 2; out.has(id); n++) id = `${file}\u0000${cell} (#${n})\u0000${field}`;
    out.set(id, { report, file, cell: id.split('\u0000')[1]!, field, value });
  };
  for (const f of files) {
    const t = f.name.endsWith('.csv') ? text(f) : undefined;
    if (t === undefined) continue;
    const csv = parseCsv(t);
    const lines = csvObjects(csv);
    const shape = csvShape(csv);
    if (shape === 'cells') {
      for (const l of lines) put(f.name, `${l['row']} / ${l['column']}`, 'ours', csvNumber(l['ours']));
    } else if (shape === 'points') {
      for (const l of lines)
        put(f.name, [l['panel'], l['series'], `x=${l['x']}`].filter((s) => s !== undefined && s !== '').join(' / '), 'y', csvNumber(l['y']));
    } else {
      const skip = new Set(['nodes', 'profile', 'synthetic']);
      for (const l of lines) {
        const keyFields = csv.header.filter((h) => !skip.has(h) && csvNumber(l[h]) === null && l[h] !== '');
        const cell = keyFields.map((h) => l[h]).join(' / ') || '(line)';
        for (const h of csv.header) if (!skip.has(h) && !keyFields.includes(h)) put(f.name, cell, h, csvNumber(l[h]));
      }
    }
  }
  return out;
}

export function compareSides(a: CompareSide, b: CompareSide): Comparison {
  const params: ParamDifference[] = [];
  if (a.profileParams !== undefined && b.profileParams !== undefined) {
    for (const d of diffMaps(flatten(a.profileParams), flatten(b.profileParams))) params.push({ scope: 'profile', ...d, nodes: 0 });
  }
  params.push(...nodeDifferences(a, b));
  const ids = [...new Set([...a.reports.keys(), ...b.reports.keys()])];
  const cells: CompareCell[] = [];
  for (const id of ids) {
    const ca = a.reports.has(id) ? cellsOf(id, a.reports.get(id)!) : new Map();
    const cb = b.reports.has(id) ? cellsOf(id, b.reports.get(id)!) : new Map();
    for (const k of new Set([...ca.keys(), ...cb.keys()])) {
      const x = ca.get(k);
      const y = cb.get(k);
      const base = (x ?? y)!;
      // A cell neither side has a number for (a table position no run fills) is no comparison.
      if (typeof x?.value !== 'number' && typeof y?.value !== 'number') continue;
      cells.push({ report: id, file: base.file, cell: base.cell, field: base.field, a: x ? x.value : undefined, b: y ? y.value : undefined });
    }
  }
  const ra = sideRegime(a);
  const rb = sideRegime(b);
  return {
    a: a.label,
    b: b.label,
    regimes: { ...(ra !== undefined ? { a: ra } : {}), ...(rb !== undefined ? { b: rb } : {}) },
    params,
    reportsOnlyA: [...a.reports.keys()].filter((id) => !b.reports.has(id)),
    reportsOnlyB: [...b.reports.keys()].filter((id) => !a.reports.has(id)),
    cells,
    notes: [['A', a] as const, ['B', b] as const].flatMap(([name, s]) =>
      s.notComputed?.length
        ? [
            `${name} (${s.label}): ${s.notComputed.length} report node(s) not up to date, compared as missing (run repro with that profile first): ${s.notComputed.join(', ')}`,
          ]
        : [],
    ),
  };
}

const show = (v: number | null | undefined) => (v === undefined ? 'missing' : v === null ? '—' : v.toFixed(2));
const showDiff = (c: CompareCell) => {
  const d = cellDiff(c);
  return d === null ? '' : `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d).toFixed(2)}`;
};

function paramLines(c: Comparison): string[] {
  if (c.params.length === 0) return ['(none)'];
  return c.params.map(
    (p) =>
      `${p.scope === 'profile' ? 'profile' : `${p.scope} nodes`}: ${p.path}: ${p.a} → ${p.b}${p.nodes ? ` (${p.nodes} node${p.nodes === 1 ? '' : 's'})` : ''}`,
  );
}

export interface TextOptions {
  /** List every cell, on one side only as well, and never shorten a line. */
  readonly verbose?: boolean;
  /** Columns a line may take unless verbose (a terminal's width). */
  readonly width?: number;
}

const len = (s: string) => [...s].length;
/** `s` cut to `width` columns, the cut marked with an ellipsis. */
const cut = (s: string, width: number) => (len(s) <= width ? s : `${[...s].slice(0, Math.max(1, width - 1)).join('')}…`);

/**
 * `s` in lines of at most `width` columns, the later ones indented, broken after a space or a comma
 * (a JSON list of attacks has no spaces), and anywhere in a word longer than a line.
 */
function wrap(s: string, width: number, indent = '    '): string[] {
  if (len(s) <= width) return [s];
  const lines: string[] = [];
  let line = '';
  for (const piece of s.split(/(?<=[ ,])/)) {
    if (len(line) + len(piece) > width && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += piece;
    while (len(line) > width) {
      lines.push([...line].slice(0, width).join(''));
      line = indent + [...line].slice(width).join('');
    }
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines;
}

/** Each side's regime, labelled A or B, for the sides that have one. */
export function regimeLines(c: Comparison): [string, string][] {
  return [
    ['A', c.regimes.a],
    ['B', c.regimes.b],
  ].filter((x): x is [string, string] => x[1] !== undefined);
}

/**
 * Aligned text for the terminal: parameters first, then one block per report file. Cells that
 * one side lacks (a report the other profile has not computed yet) are counted, not listed, and
 * every line fits `width` columns, unless verbose.
 */
export function comparisonText(c: Comparison, o: TextOptions = {}): string {
  const width = o.verbose ? Infinity : (o.width ?? 100);
  const fit = (s: string) => cut(s, width);
  const out = [fit(`compare A = ${c.a}  with  B = ${c.b}`)];
  for (const [side, line] of regimeLines(c)) out.push('', ...wrap(`World regime of ${side} (measured): ${line}`, width, '  '));
  out.push('', 'Parameters that differ:', ...paramLines(c).flatMap((l) => wrap(`  ${l}`, width, '      ')));
  for (const n of c.notes) out.push('', ...wrap(`note: ${n}`, width));
  if (c.reportsOnlyA.length) out.push('', ...wrap(`Reports only in A: ${c.reportsOnlyA.join(', ')}`, width));
  if (c.reportsOnlyB.length) out.push('', ...wrap(`Reports only in B: ${c.reportsOnlyB.join(', ')}`, width));
  let hidden = 0;
  for (const [file, cells] of byFile(c.cells)) {
    const oneSided = cells.filter((x) => cellStatus(x) !== 'both');
    const listed = o.verbose ? cells : cells.filter((x) => cellStatus(x) === 'both');
    hidden += cells.length - listed.length;
    const onlyA = oneSided.filter((x) => cellStatus(x) === 'only-a').length;
    const onlyB = oneSided.length - onlyA;
    out.push(
      '',
      ...wrap(`${file} (${cells.length} cells, ${oneSided.length} on one side only, ${cells.filter((x) => (cellDiff(x) ?? 0) !== 0).length} differ)`, width),
    );
    if (!o.verbose && oneSided.length > 0)
      out.push(fit(`  ${[onlyA ? `${onlyA} only in A` : '', onlyB ? `${onlyB} only in B` : ''].filter(Boolean).join(', ')}: not listed (-v lists them)`));
    if (listed.length === 0) continue;
    const rows = listed.map((x) => [`${x.cell}${x.field === 'ours' || x.field === 'y' ? '' : ` · ${x.field}`}`, show(x.a), show(x.b), showDiff(x)]);
    const head = ['cell', 'A', 'B', 'B − A'];
    const w = head.map((h, i) => Math.max(len(h), ...rows.map((r) => len(r[i]!))));
    // The cell's name gives way where the numbers would not fit.
    w[0] = Math.max(len(head[0]!), Math.min(w[0]!, width - 2 - (w[1]! + w[2]! + w[3]! + 6)));
    const pad = (s: string, i: number) => {
      const t = i === 0 ? cut(s, w[0]!) : s;
      return i === 0 ? t + ' '.repeat(w[i]! - len(t)) : ' '.repeat(w[i]! - len(t)) + t;
    };
    out.push(`  ${head.map(pad).join('  ')}`.trimEnd());
    for (const r of rows) out.push(`  ${r.map(pad).join('  ')}`.trimEnd());
  }
  if (hidden > 0) out.push('', fit(`${hidden} cells on one side only were counted, not listed (-v lists them; compare.csv has all).`));
  return out.join('\n') + '\n';
}

export function byFile(cells: readonly CompareCell[]): Map<string, CompareCell[]> {
  const m = new Map<string, CompareCell[]>();
  for (const x of cells) m.set(`${x.report}: ${x.file}`, [...(m.get(`${x.report}: ${x.file}`) ?? []), x]);
  return m;
}

const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (ch) => `\\${ch}`);

export function comparisonMarkdown(c: Comparison): string {
  const out = [`# Compare: A = ${mdEscape(c.a)}, B = ${mdEscape(c.b)}`, ''];
  for (const [side, line] of regimeLines(c)) out.push(`> World regime of ${side} (measured): ${mdEscape(line)}`, '');
  out.push('## Parameters that differ', '');
  out.push(...paramLines(c).map((l) => `- ${mdEscape(l)}`), '');
  for (const n of c.notes) out.push(`> ${mdEscape(n)}`, '');
  if (c.reportsOnlyA.length) out.push(`Reports only in A: ${c.reportsOnlyA.map((r) => `\`${r}\``).join(', ')}`, '');
  if (c.reportsOnlyB.length) out.push(`Reports only in B: ${c.reportsOnlyB.map((r) => `\`${r}\``).join(', ')}`, '');
  for (const [file, cells] of byFile(c.cells)) {
    out.push(`## ${mdEscape(file)}`, '', '| cell | field | A | B | B − A |', '|---|---|---:|---:|---:|');
    for (const x of cells) out.push(`| ${mdEscape(x.cell)} | ${mdEscape(x.field)} | ${show(x.a)} | ${show(x.b)} | ${showDiff(x)} |`);
    out.push('');
  }
  return out.join('\n');
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
export const COMPARE_CSV_HEADER = ['report', 'file', 'cell', 'field', 'a', 'b', 'diff', 'status'] as const;

/** One line per cell: empty a or b where that side has no number; status says which side lacks it. */
export function comparisonCsv(c: Comparison): string {
  const num = (v: number | null | undefined) => (typeof v === 'number' ? String(v) : '');
  const lines = [COMPARE_CSV_HEADER.join(',')];
  for (const x of c.cells) {
    const d = cellDiff(x);
    lines.push([x.report, x.file, x.cell, x.field, num(x.a), num(x.b), d === null ? '' : String(d), cellStatus(x)].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}
