import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { withDataCounts } from '../../report/data-note.ts';
import { defenceRows, type CheckedEvaluation } from '../../report/defence-check.ts';
import { readEvaluation } from '../../report/evaluation-file.ts';
import { writeFigureReport } from '../../report/figure-report.ts';
import { figure1, figure2, figure3, type MixResult, type SnapshotResult } from '../../report/figures.ts';
import type { FigureContext } from '../figure.ts';

/** Figure 3's accuracies of one (model, alpha) run, gathered from its evaluations. */
interface MixRun {
  readonly model: string;
  readonly alpha: number;
  readonly accuracy: Record<string, number>;
  readonly nodes: string[];
}

/** One (model, alpha) run's attacked evaluations, for the defence check beside Figure 3. */
interface CheckedRun {
  readonly model: string;
  readonly alpha: number;
  readonly evaluations: CheckedEvaluation[];
}

/** Figures 1-2's accuracy and ASR of one snapshot, gathered from its evaluations. */
interface SnapshotRun {
  readonly step: number;
  naturalAccuracy: number;
  readonly asr: Record<string, number | null>;
  readonly nodes: string[];
}

export async function runFigure(ctx: FigureContext): Promise<StageResult> {
  const p = ctx.params;
  const profile = withDataCounts(p.profile, { train: ctx.inputs.trainSet, test: ctx.inputs.testSet });
  if (p.points.length !== ctx.inputs.evals.length) {
    throw new Error(`figure: ${p.points.length} points described for ${ctx.inputs.evals.length} evaluation inputs`);
  }
  const results = p.points.map((pt, i) => readEvaluation(ctx.inputs.evals[i]!, pt.evalNode));
  let data;
  if (p.figure === 'fig3') {
    const byRun = new Map<string, MixRun>();
    const checked = new Map<string, CheckedRun>();
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
    data = figure3([...byRun.values()] satisfies MixResult[], profile, defenceRows([...checked.values()]));
  } else {
    const byStep = new Map<number, SnapshotRun>();
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
}
