import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBestPerCell, type Q3Run } from '../report/best-of.ts';
import { SPATIAL_ROWS, TRAINING_COLUMNS, type TrainingColumn } from '../report/labels.ts';
import { PAPER_TABLE1, PAPER_TABLE3, PAPER_TABLE4, type PaperAttackTable } from '../report/paper.ts';
import { buildTable1, buildTable2, buildTable3, buildTable4 } from '../report/q3-tables.ts';
import type { ProfileInfo } from '../report/profile.ts';

const PROFILE: ProfileInfo = { name: 'paper', synthetic: false };

const SETTINGS: Record<TrainingColumn, Pick<Q3Run, 'dataset' | 'augmentation'>> = {
  D: { dataset: 'D', augmentation: 'std' },
  D_R: { dataset: 'D_R', augmentation: 'std' },
  'D*': { dataset: 'D', augmentation: 'std*' },
  'D_R*': { dataset: 'D_R', augmentation: 'std*' },
};

/** The paper's appendix tables as if each backbone column were one of our runs. */
function runsFromAppendix(family: string, table: Readonly<Record<string, PaperAttackTable>>): Q3Run[] {
  return Object.entries(table).flatMap(([backbone, rows]) =>
    TRAINING_COLUMNS.map((col) => ({
      family,
      backbone,
      lr: 0.1,
      ...SETTINGS[col],
      trainNode: `train-${family}-${backbone}-${col}`,
      accuracy: Object.fromEntries(SPATIAL_ROWS.map((row) => [row, { value: rows[row][col] / 100, node: `eval-${family}-${backbone}-${col}-${row}` }])),
    })),
  );
}

test('best-of: per-cell maximum over Tables 3-4 reproduces every G-ResNet and STN cell of Table 1', () => {
  const runs = [...runsFromAppendix('G-ResNet', PAPER_TABLE4), ...runsFromAppendix('STN', PAPER_TABLE3)];
  const best = selectBestPerCell(runs);
  assert.equal(best.length, 2 * 4 * SPATIAL_ROWS.length);
  for (const family of ['G-ResNet', 'STN'] as const) {
    for (const row of SPATIAL_ROWS) {
      for (const col of TRAINING_COLUMNS) {
        const cell = best.find((b) => b.group === `${family}/${col}` && b.attack === row);
        assert.ok(cell, `${family} ${col} ${row}`);
        assert.ok(Math.abs(cell.value * 100 - PAPER_TABLE1[family][row][col]) < 1e-9, `${family} ${col} ${row}: ${cell.value}`);
        assert.equal(cell.node, `eval-${family}-${cell.run.backbone}-${col}-${row}`);
      }
    }
  }
  // The column that shows why it is per cell: natural accuracy from G-ResNet-18, grid775,10° from -34.
  const pick = (attack: string) => best.find((b) => b.group === 'G-ResNet/D_R' && b.attack === attack)!;
  assert.equal(pick('none').run.backbone, 'ResNet-18');
  assert.equal(pick('grid775_10').run.backbone, 'ResNet-34');
  // G-ResNet D* grid775,10° is 75.7 for both backbones: a recorded tie, the first backbone wins.
  const tie = best.find((b) => b.group === 'G-ResNet/D*' && b.attack === 'grid775_10')!;
  assert.equal(tie.run.backbone, 'ResNet-18');
  assert.deepEqual(
    tie.tiedWith.map((r) => r.backbone),
    ['ResNet-34'],
  );
});

test('best-of: per cell, not per run; learning rates compete; missing attacks are skipped', () => {
  const run = (backbone: string, lr: number, none: number, rot30?: number): Q3Run => ({
    family: 'STN',
    backbone,
    lr,
    dataset: 'D',
    augmentation: 'std*',
    accuracy: {
      none: { value: none, node: `n-${backbone}-${lr}` },
      ...(rot30 === undefined ? {} : { rot30: { value: rot30, node: `r-${backbone}-${lr}` } }),
    },
  });
  const best = selectBestPerCell([run('ResNet-18', 0.1, 0.9, 0.2), run('ResNet-18', 0.01, 0.8, 0.5), run('ResNet-34', 0.1, 0.85)]);
  const none = best.find((b) => b.attack === 'none')!;
  const rot = best.find((b) => b.attack === 'rot30')!;
  assert.equal(none.group, 'STN/D*');
  assert.equal(none.column, 'D*');
  assert.deepEqual([none.value, none.node], [0.9, 'n-ResNet-18-0.1']);
  assert.deepEqual([rot.value, rot.node], [0.5, 'r-ResNet-18-0.01']);
  assert.equal(best.length, 2);
});

test('best-of: bad runs are named errors', () => {
  const base: Q3Run = { family: 'STN', backbone: 'ResNet-18', lr: 0.1, dataset: 'D', augmentation: 'std', accuracy: { none: { value: 0.5, node: 'a' } } };
  assert.throws(() => selectBestPerCell([base, { ...base }]), /runs 0 and 1 are the same setting \(STN, ResNet-18, 0.1, D, std\)/);
  assert.throws(
    () => selectBestPerCell([{ ...base, accuracy: { rot30: { value: 84.1, node: 'a' } } }]),
    /accuracy\['rot30'\] must be a fraction in \[0, 1\], got 84.1/,
  );
  assert.throws(() => selectBestPerCell([{ ...base, augmentation: 'std**' as 'std' }]), /unknown augmentation 'std\*\*'/);
  assert.throws(() => buildTable1([{ ...base, family: 'ViT' }], PROFILE), /table1: run 0 has family 'ViT'/);
});

test('q3 tables: Table 1 from appendix runs carries ours, the paper and the run per cell', () => {
  const runs = [...runsFromAppendix('G-ResNet', PAPER_TABLE4), ...runsFromAppendix('STN', PAPER_TABLE3)];
  const t1 = buildTable1(runs, PROFILE);
  assert.equal(t1.columns.length, 16);
  assert.equal(t1.cells.length, 16 * 6);
  const cell = t1.cells.find((c) => c.row === 'grid775_10' && c.column === 'G-ResNet/D_R')!;
  assert.ok(Math.abs(cell.ours! - 55.15) < 1e-9);
  assert.equal(cell.paper, 55.15);
  assert.equal(cell.source, 'ResNet-34, lr 0.1');
  assert.deepEqual(cell.nodes, ['eval-G-ResNet-ResNet-34-D_R-grid775_10', 'train-G-ResNet-ResNet-34-D_R']);
  const resnet50 = t1.cells.find((c) => c.row === 'none' && c.column === 'ResNet-50/D')!;
  assert.deepEqual([resnet50.ours, resnet50.paper, resnet50.nodes], [null, 94.84, []]);
  const ptn = t1.cells.find((c) => c.row === 'none' && c.column === 'PTN/D')!;
  assert.equal(ptn.paper, null);

  const t3 = buildTable3(runsFromAppendix('STN', PAPER_TABLE3), PROFILE);
  for (const c of t3.cells) assert.ok(Math.abs(c.ours! - c.paper!) < 1e-9, `${c.row} ${c.column}`);
  const t4 = buildTable4(runsFromAppendix('G-ResNet', PAPER_TABLE4), PROFILE);
  assert.equal(t4.columns[0]!.group, 'G-ResNet-ResNet-18');
  assert.throws(() => buildTable3(runs, PROFILE), /table3: run 0 has family 'G-ResNet'/);
});

test('q3 tables: Table 2 shows every PTN run by learning rate, with extra rows for unpublished ones', () => {
  const ptn = (backbone: string, lr: number, col: TrainingColumn, value: number): Q3Run => ({
    family: 'PTN',
    backbone,
    lr,
    ...SETTINGS[col],
    accuracy: { none: { value, node: `e-${backbone}-${lr}-${col}` } },
  });
  const t2 = buildTable2([ptn('ResNet-18', 0.01, 'D', 0.7), ptn('ResNet-34', 0.05, 'D_R*', 0.4)], PROFILE);
  assert.deepEqual(
    t2.rows.map((r) => r.key),
    ['lr=0.05', 'lr=0.01', 'lr=0.005'],
  );
  const get = (row: string, column: string) => t2.cells.find((c) => c.row === row && c.column === column)!;
  assert.deepEqual([get('lr=0.01', 'ResNet-18/D').ours, get('lr=0.01', 'ResNet-18/D').paper], [70, 77.73]);
  assert.deepEqual([get('lr=0.05', 'ResNet-34/D_R*').ours, get('lr=0.05', 'ResNet-34/D_R*').paper], [40, null]);
  assert.deepEqual([get('lr=0.005', 'ResNet-34/D_R*').ours, get('lr=0.005', 'ResNet-34/D_R*').paper], [null, 58.8]);
});
