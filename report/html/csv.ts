/**
 * Reading the report nodes' CSV files (RFC 4180: quoted fields, doubled quotes, CRLF or LF), and
 * recognising the two shapes the report stages write: result tables (one line per row and column,
 * ours beside the paper's) and plotted points (panel, series, x, y).
 */

export interface Csv {
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

export function parseCsv(text: string): Csv {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const endField = () => {
    record.push(field);
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      endField();
      records.push(record);
      record = [];
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('CSV: a quoted field is not closed');
  if (field !== '' || record.length > 0) {
    endField();
    records.push(record);
  }
  const [header, ...rows] = records.filter((r) => !(r.length === 1 && r[0] === ''));
  if (header === undefined) return { header: [], rows: [] };
  for (const [n, r] of rows.entries()) {
    if (r.length !== header.length) throw new Error(`CSV line ${n + 2}: ${r.length} fields, the header has ${header.length}`);
  }
  return { header, rows };
}

/** The CSV's lines as objects keyed by the header. */
export function csvObjects(csv: Csv): Array<Record<string, string>> {
  return csv.rows.map((r) => Object.fromEntries(csv.header.map((h, i) => [h, r[i]!])));
}

export type CsvShape = 'cells' | 'points' | 'plain';

/** `cells`: row, column, ours (paper optional); `points`: x and y (panel, series optional); else plain. */
export function csvShape(csv: Csv): CsvShape {
  const has = (...names: string[]) => names.every((n) => csv.header.includes(n));
  if (has('row', 'column', 'ours')) return 'cells';
  if (has('x', 'y')) return 'points';
  return 'plain';
}

/** A number written by a report stage, or null for an empty field. */
export function csvNumber(s: string | undefined): number | null {
  if (s === undefined || s.trim() === '') return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}
