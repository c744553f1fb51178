import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Q3Run } from '../report/best-of.ts';
import { toPercent } from '../report/percent.ts';
import { buildTable1 } from '../report/q3-tables.ts';
import { CSV_HEADER, tableCsv, tableMarkdown, tableText, validateTable, writeTableReport, type ResultTable } from '../report/table.ts';

const crafted = (synthetic: boolean): ResultTable => ({
  id: 'tableX',
  title: 'Crafted table',
  unit: 'accuracy (%)',
  profile: { name: synthetic ? 'demo' : 'paper', synthetic, description: '2 epochs' },
  rowHeader: 'attack',
  rows: [
    { key: 'none', label: 'none (natural)' },
    { key: 'rot|30', label: 'rot|30' },
  ],
  columns: [
    { key: 'A/D', label: 'D', group: 'A' },
    { key: 'A/D_R', label: 'D_R', group: 'A' },
    { key: 'B/D', label: 'D', group: 'B' },
  ],
  cells: [
    { row: 'none', column: 'A/D', ours: 84.1, paper: 94.84, nodes: ['eval1', 'train1'], source: 'ResNet-34, lr 0.1' },
    { row: 'none', column: 'A/D_R', ours: 0, paper: 84.75, nodes: ['eval2'] },
    { row: 'none', column: 'B/D', ours: 100, paper: null, nodes: ['eval3'] },
    { row: 'rot|30', column: 'A/D', ours: null, paper: 36.77, nodes: [] },
    { row: 'rot|30', column: 'B/D', ours: 12.345, nodes: ['eval4'] },
    // (rot|30, A/D_R) deliberately missing
  ],
});

/** Splits a Markdown table line into its cells, honouring escaped pipes. */
const mdCells = (line: string) =>
  line
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((s) => s.trim());

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  assert.equal(field + row.join(''), '', 'CSV ends with a newline');
  return rows;
}

test('table markdown: every cell shows ours and the paper, in [0, 100]; groups, banner and provenance', () => {
  const md = tableMarkdown(crafted(true));
  assert.match(md, /^# Crafted table\n/);
  assert.match(md, /SYNTHETIC DATA: these numbers come from the synthetic planted-feature dataset \(profile 'demo'\)/);
  assert.match(md, /not comparable in absolute terms to the paper's CIFAR-10 numbers/);
  assert.match(md, /Profile: `demo` — 2 epochs\./);
  assert.match(md, /## A\n\n\| attack \| D \| D\\_R \|\n\|---\|---:\|---:\|\n/);
  const body = md.split('\n## Runs behind each cell')[0]!;
  const lines = body.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| attack'));
  assert.equal(lines.length, 4); // 2 rows × 2 groups
  let numbers = 0;
  for (const line of lines) {
    const [, ...cells] = mdCells(line);
    for (const c of cells) {
      const m = /^\*\*(\d+\.\d\d|—)\*\* \((\d+(?:\.\d+)?|—)\)$/.exec(c);
      assert.ok(m, `cell ${JSON.stringify(c)} is not "**ours** (paper)"`);
      for (const v of [m[1], m[2]]) {
        if (v === '—') continue;
        numbers++;
        assert.ok(Number(v) >= 0 && Number(v) <= 100);
      }
    }
  }
  assert.equal(numbers, 7);
  assert.ok(md.includes('| rot\\|30 | **—** (36.77) | **—** (—) |'), 'missing value and missing cell both shown');
  assert.ok(md.includes('| none (natural) | **100.00** (—) |'));
  const footer = md.split('## Runs behind each cell')[1]!;
  assert.ok(footer.includes('| none (natural) | A D | 84.10 | 94.84 | ResNet-34, lr 0.1 | `eval1` `train1` |'));
  assert.equal(footer.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| attack')).length, 6);
  assert.doesNotMatch(tableMarkdown(crafted(false)), /SYNTHETIC/);
});

test('table csv: one line per cell with table, row, column, ours, paper, nodes; quoting', () => {
  const rows = parseCsv(tableCsv(crafted(true)));
  assert.deepEqual(rows[0], [...CSV_HEADER]);
  assert.equal(rows.length, 1 + 2 * 3);
  const byKey = new Map(rows.slice(1).map((r) => [`${r[3]}@${r[4]}`, r]));
  assert.deepEqual(byKey.get('none@A/D'), ['tableX', 'demo', 'true', 'none', 'A/D', '84.1', '94.84', 'ResNet-34, lr 0.1', 'eval1 train1']);
  assert.deepEqual(byKey.get('rot|30@A/D_R'), ['tableX', 'demo', 'true', 'rot|30', 'A/D_R', '', '', '', '']);
  for (const r of rows.slice(1)) {
    assert.equal(r.length, CSV_HEADER.length);
    for (const v of [r[5], r[6]]) if (v) assert.ok(Number(v) >= 0 && Number(v) <= 100);
  }
});

test('table text: aligned blocks with the banner', () => {
  const text = tableText(crafted(true));
  assert.match(text, /^Crafted table — profile demo\n!! SYNTHETIC DATA/);
  const blockA = text.split('\n\n')[1]!.split('\n');
  assert.deepEqual(blockA[0]!.split(/\s{2,}/), ['A', 'D', 'D_R']);
  assert.ok(
    blockA.every((l) => [...l].length === [...blockA[0]!].length),
    'columns aligned',
  );
  assert.ok(blockA[1]!.includes('84.10 (94.84)') && blockA[1]!.includes('0.00 (84.75)'));
});

test('table validation: named errors for bad values, unknown keys and values without nodes', () => {
  const t = crafted(false);
  const withCell = (cell: ResultTable['cells'][number]) => ({ ...t, cells: [...t.cells.slice(1), cell] });
  assert.throws(
    () => validateTable(withCell({ ...t.cells[0]!, ours: 184.1 })),
    /table 'tableX', row 'none', column 'A\/D', ours: expected a percentage in \[0, 100\], got 184.1/,
  );
  assert.throws(() => validateTable(withCell({ ...t.cells[0]!, paper: -1 })), /paper: expected a percentage/);
  assert.throws(() => validateTable(withCell({ ...t.cells[0]!, column: 'C/D' })), /column 'C\/D': unknown column/);
  assert.throws(() => validateTable(withCell({ ...t.cells[0]!, nodes: [] })), /a value without the node it came from/);
  assert.throws(() => validateTable({ ...t, cells: [...t.cells, t.cells[0]!] }), /two cells/);
  assert.throws(() => validateTable({ ...t, profile: { name: '', synthetic: false } }), /profile.name/);
  assert.throws(() => toPercent(84.1, 'eval node x, robustAccuracy'), /eval node x, robustAccuracy: expected a fraction in \[0, 1\], got 84.1/);
});

test('table report: writes <id>.md and <id>.csv atomically; Table 1 renders from runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-report-'));
  try {
    const run: Q3Run = {
      family: 'ResNet-50',
      backbone: 'ResNet-50',
      lr: 0.1,
      dataset: 'D_R',
      augmentation: 'std*',
      trainNode: 'train-r50',
      accuracy: { none: { value: 0.8353, node: 'eval-r50-none' }, grid775: { value: 0.2453, node: 'eval-r50-grid' } },
    };
    const written = writeTableReport(buildTable1([run], { name: 'demo', synthetic: true }), dir);
    assert.deepEqual(readdirSync(dir).sort(), ['table1.csv', 'table1.md']);
    const md = readFileSync(written.markdownPath, 'utf8');
    assert.ok(md.includes('| none (natural) | **—** (94.84) | **—** (84.75) | **—** (93.9) | **83.53** (83.53) |'));
    assert.ok(md.includes('| grid775 | ResNet-50 D\\_R\\* | 24.53 | 24.53 | ResNet-50, lr 0.1 | `eval-r50-grid` `train-r50` |'));
    assert.match(md, /## PTN\n/);
    assert.equal(readFileSync(written.csvPath, 'utf8').trim().split('\n').length, 1 + 6 * 16);
    assert.match(written.text, /SYNTHETIC DATA/);
    assert.match(written.text, /83\.53 \(83\.53\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
