/**
 * A result table with our value and the paper's side by side in every cell, rendered three ways:
 * Markdown for reports/<profile>/<id>.md, CSV (one line per cell) beside it, and aligned plain text for the
 * terminal. Values are percentages; every cell names the nodes it came from.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { checkPercent } from './percent.ts';
import { checkProfile, notesMarkdown, profileSummary, syntheticBanner, type ProfileInfo } from './profile.ts';

export interface TableRow {
  readonly key: string;
  readonly label: string;
}

export interface TableColumn {
  readonly key: string;
  readonly label: string;
  /** Columns sharing a group (an architecture, a backbone) are shown as one block under it. */
  readonly group?: string;
}

export interface ResultCell {
  readonly row: string;
  readonly column: string;
  /** Our value in % ([0, 100]); null when no run produced it. */
  readonly ours: number | null;
  /** The paper's value in %; null or absent where the paper prints none. */
  readonly paper?: number | null;
  /** Node ids or keys behind the value (evaluation node first, then what it depends on). */
  readonly nodes: readonly string[];
  /** Which run the value came from when it was selected among several, e.g. "ResNet-34, lr 0.01". */
  readonly source?: string;
}

export interface ResultTable {
  /** File stem and CSV `table` column, e.g. `table1`. */
  readonly id: string;
  readonly title: string;
  readonly caption?: string;
  /** What the numbers are, e.g. "accuracy (%)". */
  readonly unit: string;
  readonly profile: ProfileInfo;
  readonly rowHeader: string;
  readonly rows: readonly TableRow[];
  readonly columns: readonly TableColumn[];
  readonly cells: readonly ResultCell[];
  readonly notes?: readonly string[];
}

const DASH = '—';

/** Checks keys, ranges and provenance; every error names the table, row and column. */
export function validateTable(table: ResultTable): void {
  const where = `table '${table.id}'`;
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(table.id)) throw new Error(`${where}: id must be a plain file stem`);
  checkProfile(table.profile, where);
  const unique = (keys: readonly string[], what: string) => {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) throw new Error(`${where}: duplicate ${what} key '${k}'`);
      seen.add(k);
    }
    return seen;
  };
  const rows = unique(
    table.rows.map((r) => r.key),
    'row',
  );
  const columns = unique(
    table.columns.map((c) => c.key),
    'column',
  );
  const cells = new Set<string>();
  for (const cell of table.cells) {
    const at = `${where}, row '${cell.row}', column '${cell.column}'`;
    if (!rows.has(cell.row)) throw new Error(`${at}: unknown row`);
    if (!columns.has(cell.column)) throw new Error(`${at}: unknown column`);
    const id = `${cell.row}\u0000${cell.column}`;
    if (cells.has(id)) throw new Error(`${at}: two cells`);
    cells.add(id);
    if (cell.ours !== null) {
      checkPercent(cell.ours, `${at}, ours`);
      if (cell.nodes.length === 0) throw new Error(`${at}: a value without the node it came from`);
    }
    if (cell.paper !== undefined && cell.paper !== null) checkPercent(cell.paper, `${at}, paper`);
    for (const n of cell.nodes) {
      if (typeof n !== 'string' || n.trim() === '' || /[\s|,]/.test(n)) throw new Error(`${at}: bad node id ${JSON.stringify(n)}`);
    }
  }
}

function cellMap(table: ResultTable): Map<string, ResultCell> {
  return new Map(table.cells.map((c) => [`${c.row}\u0000${c.column}`, c]));
}

export function formatOurs(v: number | null | undefined): string {
  return v === null || v === undefined ? DASH : v.toFixed(2);
}

/** The paper's value as printed (no padding of its decimals). */
export function formatPaper(v: number | null | undefined): string {
  return v === null || v === undefined ? DASH : String(v);
}

/** "84.10 (94.84)": ours, then the paper's value in parentheses. */
export function formatPair(cell: ResultCell | undefined): string {
  return `${formatOurs(cell?.ours)} (${formatPaper(cell?.paper)})`;
}

/** Column blocks in first-appearance order; ungrouped columns form one block with no heading. */
function blocks(table: ResultTable): Array<{ group: string | undefined; columns: TableColumn[] }> {
  const out: Array<{ group: string | undefined; columns: TableColumn[] }> = [];
  for (const c of table.columns) {
    const last = out.find((b) => b.group === c.group);
    if (last) last.columns.push(c);
    else out.push({ group: c.group, columns: [c] });
  }
  return out;
}

/** Escapes what Markdown would read as table syntax or emphasis in a label (D_R*, rot|30). */
const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (c) => `\\${c}`);

export function tableMarkdown(table: ResultTable): string {
  validateTable(table);
  const cells = cellMap(table);
  const out: string[] = [`# ${table.title}`, ''];
  const banner = syntheticBanner(table.profile);
  if (banner) out.push(`> **⚠ ${banner}**`, '');
  out.push(`Profile: \`${table.profile.name}\`${profileSummary(table.profile)}.`, '');
  out.push(...notesMarkdown(table.profile));
  if (table.caption) out.push(table.caption, '');
  out.push(`Each cell: **ours** (paper), ${table.unit}. ${DASH} = no value.`, '');
  for (const block of blocks(table)) {
    if (block.group) out.push(`## ${block.group}`, '');
    out.push(`| ${mdEscape(table.rowHeader)} | ${block.columns.map((c) => mdEscape(c.label)).join(' | ')} |`);
    out.push(`|---|${block.columns.map(() => '---:').join('|')}|`);
    for (const row of table.rows) {
      const values = block.columns.map((c) => {
        const cell = cells.get(`${row.key}\u0000${c.key}`);
        return `**${formatOurs(cell?.ours)}** (${formatPaper(cell?.paper)})`;
      });
      out.push(`| ${mdEscape(row.label)} | ${values.join(' | ')} |`);
    }
    out.push('');
  }
  if (table.notes?.length) {
    out.push('## Notes', '');
    for (const n of table.notes) out.push(`- ${n}`);
    out.push('');
  }
  out.push('## Runs behind each cell', '');
  out.push(`| ${mdEscape(table.rowHeader)} | column | ours | paper | run | nodes |`, '|---|---|---:|---:|---|---|');
  const columnLabel = (c: TableColumn) => (c.group ? `${c.group} ${c.label}` : c.label);
  for (const row of table.rows) {
    for (const c of table.columns) {
      const cell = cells.get(`${row.key}\u0000${c.key}`);
      const nodes = cell?.nodes.length ? cell.nodes.map((n) => `\`${n}\``).join(' ') : DASH;
      out.push(
        `| ${mdEscape(row.label)} | ${mdEscape(columnLabel(c))} | ${formatOurs(cell?.ours)} | ${formatPaper(cell?.paper)} | ${mdEscape(cell?.source ?? DASH)} | ${nodes} |`,
      );
    }
  }
  out.push('');
  return out.join('\n');
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export const CSV_HEADER = ['table', 'profile', 'synthetic', 'row', 'column', 'ours', 'paper', 'source', 'nodes'] as const;

/** One line per (row, column), in table order; empty `ours`/`paper` where there is no value. */
export function tableCsv(table: ResultTable): string {
  validateTable(table);
  const cells = cellMap(table);
  const lines = [CSV_HEADER.join(',')];
  for (const row of table.rows) {
    for (const c of table.columns) {
      const cell = cells.get(`${row.key}\u0000${c.key}`);
      const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
      lines.push(
        [
          table.id,
          table.profile.name,
          String(table.profile.synthetic),
          row.key,
          c.key,
          num(cell?.ours),
          num(cell?.paper),
          cell?.source ?? '',
          (cell?.nodes ?? []).join(' '),
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** Aligned columns for a terminal; one block per column group. */
export function tableText(table: ResultTable): string {
  validateTable(table);
  const cells = cellMap(table);
  const out: string[] = [`${table.title} — profile ${table.profile.name}`];
  const banner = syntheticBanner(table.profile);
  if (banner) out.push(`!! ${banner}`);
  out.push(`cells: ours (paper), ${table.unit}`);
  const width = (s: string) => [...s].length;
  const pad = (s: string, n: number, right = false) => (right ? ' '.repeat(n - width(s)) + s : s + ' '.repeat(n - width(s)));
  for (const block of blocks(table)) {
    const head = [block.group ?? table.rowHeader, ...block.columns.map((c) => c.label)];
    const body = table.rows.map((row) => [row.label, ...block.columns.map((c) => formatPair(cells.get(`${row.key}\u0000${c.key}`)))]);
    const widths = head.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i]!))));
    out.push('');
    out.push(head.map((h, i) => pad(h, widths[i]!, i > 0)).join('  '));
    for (const r of body) out.push(r.map((v, i) => pad(v, widths[i]!, i > 0)).join('  '));
  }
  return out.join('\n') + '\n';
}

export interface WrittenTable {
  readonly markdownPath: string;
  readonly csvPath: string;
  /** The terminal rendering, for `repro table1` to print. */
  readonly text: string;
}

/** Writes `<dir>/<id>.md` and `<dir>/<id>.csv` atomically. */
export function writeTableReport(table: ResultTable, dir: string): WrittenTable {
  const markdownPath = join(dir, `${table.id}.md`);
  const csvPath = join(dir, `${table.id}.csv`);
  writeFileAtomic(markdownPath, tableMarkdown(table));
  writeFileAtomic(csvPath, tableCsv(table));
  return { markdownPath, csvPath, text: tableText(table) };
}
