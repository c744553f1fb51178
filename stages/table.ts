import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { familySchema, trainingAugmentationSchema, trainingDatasetSchema, profileInfoSchema } from './schemas.ts';

/**
 * Tables 1-4 (Q3): gathers the evaluation results of every trained run and writes the table with
 * our value beside the paper's in every cell (Markdown, CSV, terminal text). Table 1 takes, per
 * family and column, the best run over backbone and learning rate; Tables 2-4 list the raw runs.
 */
/** One evaluation feeding the table: which run it belongs to and which attack it measured. */
export const tableCellSchema = z
  .object({
    family: familySchema,
    backbone: z.string().min(1),
    lr: z.number().positive(),
    dataset: trainingDatasetSchema,
    augmentation: trainingAugmentationSchema,
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

const inputs = {
  evals: { kind: 'file', many: true, description: 'evaluate results, aligned with params.cells' },
  trainSet: { kind: 'file', optional: true, description: 'D as trained on: its image count goes into the report' },
  testSet: { kind: 'file', optional: true, description: 'the test set: its image count goes into the report' },
} as const;
const outputs = { report: { kind: 'dir', description: '<table>.md, .csv and .txt' } } as const;

/** What the run code (stages/run/table.ts) is handed. */
export type TableContext = StageContext<z.output<typeof tableParams>, typeof inputs, typeof outputs>;

export const table = defineStage({
  name: 'table',
  version: 1,
  module: import.meta.url,
  description: 'a Q3 table (our numbers beside the paper’s) from evaluation results',
  params: tableParams,
  inputs,
  outputs,
  estimateSeconds: () => 2,
  run: async (ctx) => (await import('./run/table.ts')).runTable(ctx),
});
