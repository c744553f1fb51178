import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TRAINING_COLUMNS, SPATIAL_ROWS } from '../report/labels.ts';
import { PAPER_FIG3, PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3, PAPER_TABLE4, TABLE1_FAMILIES } from '../report/paper.ts';

/**
 * Re-reads every number of the paper's Tables 1-4 from its text and compares it with the hand
 * transcription in report/paper.ts. The paper's text (seed) is read where it is on this machine;
 * otherwise the committed verbatim excerpt of its table lines (test/fixtures/report/paper-tables.txt,
 * written by extract-paper-tables.sh), which must then itself match the seed where both exist.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = `${root}test/fixtures/report/paper-tables.txt`;
const SEED_NAME = 'seed/000_b83d9a6342f75ab6.txt';
const seedPath = [process.env.RF_PAPER_TEXT, `${root}../shared/${SEED_NAME}`, `/work/shared/${SEED_NAME}`].find((p): p is string => !!p && existsSync(p));

const ROW_LABEL: Readonly<Record<string, string>> = {
  None: 'none',
  rot10: 'rot10',
  rot30: 'rot30',
  'grid775 , 10°': 'grid775_10',
  grid135: 'grid135',
  grid775: 'grid775',
};

/** Table number → row label → the numbers printed on that row, in column order. */
function parseTables(text: string): Map<number, Map<string, number[]>> {
  const tables = new Map<number, Map<string, number[]>>();
  let current: Map<string, number[]> | undefined;
  for (const line of text.split('\n')) {
    const start = /^(?:## )?Table ([1-4])(?::|$)/.exec(line);
    if (start) {
      current = new Map();
      tables.set(Number(start[1]), current);
      continue;
    }
    if (!current) continue;
    const [label, ...rest] = line.split('\t');
    const key = ROW_LABEL[label!] ?? (/^lr=[0-9.]+$/.test(label!) ? label! : undefined);
    if (key === undefined || current.has(key)) continue;
    const numbers = rest.filter((t) => /^\d+(\.\d+)?$/.test(t.trim())).map(Number);
    if (numbers.length > 0) current.set(key, numbers);
  }
  return tables;
}

function printed(tables: Map<number, Map<string, number[]>>, n: number, row: string): number[] {
  const values = tables.get(n)?.get(row);
  assert.ok(values, `Table ${n}, row ${row} not found in the paper's text`);
  return values;
}

function checkTranscription(tables: Map<number, Map<string, number[]>>) {
  for (const row of SPATIAL_ROWS) {
    // Table 1: ResNet-50, G-ResNet, STN × D, D_R, D*, D_R*; PTN printed as dashes.
    const expected = TABLE1_FAMILIES.filter((f) => f !== 'PTN').flatMap((f) => TRAINING_COLUMNS.map((c) => PAPER_TABLE1[f][row][c]));
    assert.deepEqual(printed(tables, 1, row), expected, `Table 1 row ${row}`);
    for (const [n, table] of [
      [3, PAPER_TABLE3],
      [4, PAPER_TABLE4],
    ] as const) {
      const values = (['ResNet-18', 'ResNet-34'] as const).flatMap((b) => TRAINING_COLUMNS.map((c) => table[b][row][c]));
      assert.deepEqual(printed(tables, n, row), values, `Table ${n} row ${row}`);
    }
  }
  for (const lr of ['0.01', '0.005'] as const) {
    const values = (['ResNet-18', 'ResNet-34'] as const).flatMap((b) => TRAINING_COLUMNS.map((c) => PAPER_TABLE2[b][lr][c]));
    assert.deepEqual(printed(tables, 2, `lr=${lr}`), values, `Table 2 lr=${lr}`);
  }
}

test('paper: every transcribed cell of Tables 1-4 matches the committed excerpt of the paper', () => {
  checkTranscription(parseTables(readFileSync(FIXTURE, 'utf8')));
});

test('paper: the excerpt and the transcription match the paper text itself', (t) => {
  if (!seedPath) {
    t.skip(`paper text not found (set RF_PAPER_TEXT to ${SEED_NAME}); the excerpt was checked instead`);
    return;
  }
  const seed = readFileSync(seedPath, 'utf8');
  checkTranscription(parseTables(seed));
  const seedLines = new Set(seed.split('\n'));
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('## Table')) continue;
    assert.ok(seedLines.has(line), `excerpt line not in the paper: ${JSON.stringify(line)}`);
  }
});

test('paper: the parser catches a typo (a changed digit fails the comparison)', () => {
  const text = readFileSync(FIXTURE, 'utf8').replace('\t26.95\t75.38\t', '\t26.95\t75.83\t');
  assert.throws(() => checkTranscription(parseTables(text)), /Table 1 row rot30/);
});

test('paper: Figure 3 anchors are Table 1 ResNet-50 natural accuracies on D and D_R', () => {
  assert.deepEqual(
    PAPER_FIG3.anchors.map((a) => [a.alpha, a.naturalAccuracy]),
    [
      [0, 94.84],
      [1, 84.75],
    ],
  );
});
