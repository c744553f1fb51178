import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * Tables 1-4 (Q3): gathers the evaluation results of every trained run and writes the table with
 * our value beside the paper's in every cell (Markdown, CSV, terminal text). Table 1 takes, per
 * family and column, the best run over backbone and learning rate; Tables 2-4 list the raw runs.
 */
export const profileInfoSchema = z
  .object({
    name: z.string().min(1),
    synthetic: z.boolean(),
    description: z.string().optional(),
    asRun: z.string().optional(),
    notes: z.array(z.string()).optional(),
  })
  .strict();

/** One evaluation feeding the table: which run it belongs to and which attack it measured. */
export const tableCellSchema = z
  .object({
    family: z.enum(['ResNet-50', 'G-ResNet', 'STN', 'PTN']),
    backbone: z.string().min(1),
    lr: z.number().positive(),
    dataset: z.enum(['D', 'D_R']),
    augmentation: z.enum(['std', 'std*']),
    /** Attack preset name; `none` reads natural accuracy. */
    attack: z.string().min(1),
    trainNode: z.string().min(1),
    evalNode: z.string().min(1),
  })
  .strict();

export type TableCellSpec = z.infer<typeof tableCellSchema>;

export const tableParams = z
  .object({
    table: z.enum(['table1', 'table2', 'table3', 'table4']),
    profile: profileInfoSchema,
    /** Aligned with the `evals` inputs, one entry each. */
    cells: z.array(tableCellSchema),
  })
  .strict();

export const table = defineStage({
  name: 'table',
  version: 1,
  module: import.meta.url,
  description: 'a Q3 table (our numbers beside the paper’s) from evaluation results',
  params: tableParams,
  inputs: {
    evals: { kind: 'file', many: true, description: 'evaluate results, aligned with params.cells' },
    trainSet: { kind: 'file', optional: true, description: 'D as trained on: its image count goes into the report' },
    testSet: { kind: 'file', optional: true, description: 'the test set: its image count goes into the report' },
  },
  outputs: { report: { kind: 'dir', description: '<table>.md, .csv and .txt' } },
  estimateSeconds: () => 2,
  async run(ctx) {
    const { mkdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { readEvaluation } = await import('../report/evaluation-file.ts');
    const { buildTable1, buildTable2, buildTable3, buildTable4 } = await import('../report/q3-tables.ts');
    const { writeTableReport } = await import('../report/table.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');
    type Q3Run = import('../report/best-of.ts').Q3Run;
    type Measurement = import('../report/best-of.ts').Measurement;

    const { withDataCounts } = await import('../report/data-note.ts');
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
  },
});
