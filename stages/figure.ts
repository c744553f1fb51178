import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { profileInfoSchema } from './table.ts';

/**
 * Figures 1-3: gathers evaluation results and draws the figure (SVG and PNG through Vega-Lite), with
 * a Markdown page holding the paper's statements beside ours and a CSV of the plotted points.
 * Figures 1 and 2 plot Q1's snapshots; Figure 3 plots Q2's D_mix(alpha) models.
 */
const snapshotPoint = z
  .object({ step: z.number().int().min(0), attack: z.string().min(1), evalNode: z.string().min(1), trainNode: z.string().min(1) })
  .strict();
const mixPoint = z.object({ model: z.string().min(1), alpha: z.number().min(0).max(1), attack: z.string().min(1), evalNode: z.string().min(1) }).strict();

export const figureParams = z.discriminatedUnion('figure', [
  z.object({ figure: z.enum(['fig1', 'fig2']), profile: profileInfoSchema, attacks: z.array(z.string()).min(1), points: z.array(snapshotPoint) }).strict(),
  z.object({ figure: z.literal('fig3'), profile: profileInfoSchema, points: z.array(mixPoint) }).strict(),
]);

export type FigureParams = z.input<typeof figureParams>;

export const figure = defineStage({
  name: 'figure',
  version: 1,
  module: import.meta.url,
  description: 'a Q1 or Q2 figure (SVG, PNG, Markdown, CSV) from evaluation results',
  params: figureParams,
  inputs: {
    evals: { kind: 'file', many: true, description: 'evaluate results, aligned with params.points' },
    trainSet: { kind: 'file', optional: true, description: 'D as trained on: its image count goes into the report' },
    testSet: { kind: 'file', optional: true, description: 'the test set: its image count goes into the report' },
  },
  outputs: { report: { kind: 'dir', description: '<figure>.svg, .png, .md, .csv and .txt (fig3 with AutoAttack: fig3-defence-check.csv)' } },
  estimateSeconds: () => 5,
  async run(ctx) {
    const { mkdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { readEvaluation } = await import('../report/evaluation-file.ts');
    const { figure1, figure2, figure3 } = await import('../report/figures.ts');
    const { writeFigureReport } = await import('../report/figure-report.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');
    type SnapshotResult = import('../report/figures.ts').SnapshotResult;
    type MixResult = import('../report/figures.ts').MixResult;

    const { withDataCounts } = await import('../report/data-note.ts');
    const p = ctx.params;
    const profile = withDataCounts(p.profile, { train: ctx.inputs.trainSet, test: ctx.inputs.testSet });
    if (p.points.length !== ctx.inputs.evals.length) {
      throw new Error(`figure: ${p.points.length} points described for ${ctx.inputs.evals.length} evaluation inputs`);
    }
    const results = p.points.map((pt, i) => readEvaluation(ctx.inputs.evals[i]!, pt.evalNode));
    let data;
    if (p.figure === 'fig3') {
      const byRun = new Map<string, { model: string; alpha: number; accuracy: Record<string, number>; nodes: string[] }>();
      const checked = new Map<string, { model: string; alpha: number; evaluations: import('../report/defence-check.ts').CheckedEvaluation[] }>();
      p.points.forEach((pt, i) => {
        const r = results[i]!;
        const key = `${pt.model}\u0000${pt.alpha}`;
        let e = byRun.get(key);
        if (!e) byRun.set(key, (e = { model: pt.model, alpha: pt.alpha, accuracy: {}, nodes: [] }));
        if (pt.attack === 'none' || e.accuracy['none'] === undefined) e.accuracy['none'] = r.naturalAccuracy;
        if (pt.attack !== 'none') e.accuracy[pt.attack] = r.robustAccuracy;
        e.nodes.push(pt.evalNode);
        if (pt.attack !== 'none') {
          let c = checked.get(key);
          if (!c) checked.set(key, (c = { model: pt.model, alpha: pt.alpha, evaluations: [] }));
          c.evaluations.push({
            attack: pt.attack,
            description: r.description ?? pt.attack,
            robustAccuracy: r.robustAccuracy,
            ...(r.robustMask !== undefined ? { robustMask: r.robustMask } : {}),
            ...(r.brokenBy !== undefined ? { brokenBy: r.brokenBy } : {}),
          });
        }
      });
      const { defenceRows } = await import('../report/defence-check.ts');
      data = figure3([...byRun.values()] satisfies MixResult[], profile, defenceRows([...checked.values()]));
    } else {
      const byStep = new Map<number, { step: number; naturalAccuracy: number; asr: Record<string, number | null>; nodes: string[] }>();
      p.points.forEach((pt, i) => {
        const r = results[i]!;
        let e = byStep.get(pt.step);
        if (!e) byStep.set(pt.step, (e = { step: pt.step, naturalAccuracy: r.naturalAccuracy, asr: {}, nodes: [pt.trainNode] }));
        if (pt.attack === 'none') e.naturalAccuracy = r.naturalAccuracy;
        else e.asr[pt.attack] = r.asr;
        e.nodes.push(pt.evalNode);
      });
      const snaps: SnapshotResult[] = [...byStep.values()].sort((a, b) => a.step - b.step);
      data = (p.figure === 'fig1' ? figure1 : figure2)(snaps, profile, p.attacks);
    }
    mkdirSync(ctx.outputs.report, { recursive: true });
    const written = await writeFigureReport(data, ctx.outputs.report);
    writeFileAtomic(join(ctx.outputs.report, `${data.id}.txt`), `${written.text}\n`);
    return { metrics: { points: data.points.length } };
  },
});
