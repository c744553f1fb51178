import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import type { Measurement, Q3Run } from '../../report/best-of.ts';
import { withDataCounts } from '../../report/data-note.ts';
import { readEvaluation } from '../../report/evaluation-file.ts';
import { buildTable1, buildTable2, buildTable3, buildTable4 } from '../../report/q3-tables.ts';
import { writeTableReport } from '../../report/table.ts';
import type { TableContext } from '../table.ts';

export function runTable(ctx: TableContext): StageResult {
  const { cells } = ctx.params;
  const profile = withDataCounts(ctx.params.profile, { train: ctx.inputs.trainSet, test: ctx.inputs.testSet });
  if (cells.length !== ctx.inputs.evals.length) {
    throw new Error(`table: ${cells.length} cells described for ${ctx.inputs.evals.length} evaluation inputs`);
  }
  const runs = new Map<string, { run: Omit<Q3Run, 'accuracy'>; accuracy: Record<string, Measurement> }>();
  cells.forEach((c, i) => {
    const r = readEvaluation(ctx.inputs.evals[i]!, c.evalNode);
    const key = JSON.stringify([c.family, c.backbone, c.lr, c.dataset, c.augmentation]);
    let entry = runs.get(key);
    if (!entry) {
      entry = {
        run: { family: c.family, backbone: c.backbone, lr: c.lr, dataset: c.dataset, augmentation: c.augmentation, trainNode: c.trainNode },
        accuracy: {},
      };
      runs.set(key, entry);
    }
    if (c.attack === 'none' || entry.accuracy['none'] === undefined) entry.accuracy['none'] = { value: r.naturalAccuracy, node: c.evalNode };
    if (c.attack !== 'none') entry.accuracy[c.attack] = { value: r.robustAccuracy, node: c.evalNode };
  });
  const all: Q3Run[] = [...runs.values()].map((e) => ({ ...e.run, accuracy: e.accuracy }));
  const build = { table1: buildTable1, table2: buildTable2, table3: buildTable3, table4: buildTable4 }[ctx.params.table];
  const result = build(all, profile);
  mkdirSync(ctx.outputs.report, { recursive: true });
  const written = writeTableReport(result, ctx.outputs.report);
  writeFileAtomic(join(ctx.outputs.report, `${result.id}.txt`), `${written.text}\n`);
  return { metrics: { runs: all.length, cells: result.cells.length } };
}
