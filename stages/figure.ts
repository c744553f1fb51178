import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { alphaSchema, profileInfoSchema } from './schemas.ts';

/**
 * Figures 1-3: gathers evaluation results and draws the figure (SVG and PNG through Vega-Lite), with
 * a Markdown page holding the paper's statements beside ours and a CSV of the plotted points.
 * Figures 1 and 2 plot Q1's snapshots; Figure 3 plots Q2's D_mix(alpha) models.
 */
const snapshotPoint = z
  .object({ step: z.number().int().min(0), attack: z.string().min(1), evalNode: z.string().min(1), trainNode: z.string().min(1) })
  .strict();
const mixPoint = z.object({ model: z.string().min(1), alpha: alphaSchema, attack: z.string().min(1), evalNode: z.string().min(1) }).strict();

export const figureParams = z.discriminatedUnion('figure', [
  z.object({ figure: z.enum(['fig1', 'fig2']), profile: profileInfoSchema, attacks: z.array(z.string()).min(1), points: z.array(snapshotPoint) }).strict(),
  z.object({ figure: z.literal('fig3'), profile: profileInfoSchema, points: z.array(mixPoint) }).strict(),
]);

export type FigureParams = z.input<typeof figureParams>;

const inputs = {
  evals: { kind: 'file', many: true, description: 'evaluate results, aligned with params.points' },
  trainSet: { kind: 'file', optional: true, description: 'D as trained on: its image count goes into the report' },
  testSet: { kind: 'file', optional: true, description: 'the test set: its image count goes into the report' },
} as const;
const outputs = { report: { kind: 'dir', description: '<figure>.svg, .png, .md, .csv and .txt (fig3 with AutoAttack: fig3-defence-check.csv)' } } as const;

/** What the run code (stages/run/figure.ts) is handed. */
export type FigureContext = StageContext<z.output<typeof figureParams>, typeof inputs, typeof outputs>;

export const figure = defineStage({
  name: 'figure',
  version: 1,
  module: import.meta.url,
  description: 'a Q1 or Q2 figure (SVG, PNG, Markdown, CSV) from evaluation results',
  params: figureParams,
  inputs,
  outputs,
  estimateSeconds: () => 5,
  run: async (ctx) => (await import('./run/figure.ts')).runFigure(ctx),
});
