import { mkdirSync, readFileSync } from 'node:fs';
import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { selectSubset } from '../../ml/attacks/subset.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
import { robustClassesFromMeta, syntheticBankFromMeta } from '../../ml/data/synthetic.ts';
import { dnrQuality, drQuality } from '../../ml/probe/built-set-quality.ts';
import { nonRobustTargets } from '../../ml/robust/build-dnr.ts';
import { writeQualityReport } from '../../report/dataset-quality.ts';
import { nameToken } from '../../report/labels.ts';
import type { DatasetQualityContext } from '../dataset-quality.ts';

export function runDatasetQuality(ctx: DatasetQualityContext): StageResult {
  const p = ctx.params;
  const base = openDataset(ctx.inputs.base);
  const built = openDataset(ctx.inputs.dataset);
  const bank = syntheticBankFromMeta(base.meta);
  const robustClass = robustClassesFromMeta(base.meta);
  let r;
  if (p.construction === 'D_R') {
    if (ctx.inputs.distances === undefined) throw new Error("dataset-quality: D_R needs build-dr's `distances` input");
    const rec = JSON.parse(readFileSync(ctx.inputs.distances, 'utf8')) as { baseIndices?: unknown; sourceIndices?: unknown };
    if (!Array.isArray(rec.baseIndices) || !Array.isArray(rec.sourceIndices))
      throw new Error(`dataset-quality: ${ctx.inputs.distances} lacks baseIndices/sourceIndices`);
    r = drQuality(bank, built, base, robustClass, { baseIndices: rec.baseIndices as number[], sourceIndices: rec.sourceIndices as number[] });
  } else {
    const bases = selectSubset(base.count, p.count, p.seed);
    const targets = nonRobustTargets(
      Uint8Array.from(bases, (i) => base.labels[i]!),
      base.numClasses,
      p.construction === 'D_det' ? 'det' : 'rand',
      p.seed,
    );
    if (targets.length !== built.count || targets.some((t, i) => t !== built.labels[i])) {
      throw new Error(
        `dataset-quality: ${p.builtBy}'s labels are not the targets of the base examples its count/seed select; pass the build node's count and seed`,
      );
    }
    r = dnrQuality(bank, built, base, robustClass, bases, p.construction);
  }
  writeFileAtomic(ctx.outputs.result, `${JSON.stringify(r, null, 1)}\n`);
  mkdirSync(ctx.outputs.report, { recursive: true });
  writeQualityReport({ id: `${nameToken(p.construction)}-quality`, report: r, profile: p.profile, builtBy: p.builtBy }, ctx.outputs.report);
  const q = r.quality;
  return {
    metrics: {
      count: q.count,
      robustIsLabel: q.robustIsLabel,
      nonRobustIsLabel: q.nonRobustIsLabel,
      robustIsSource: q.robustIsSource,
      nonRobustIsSource: q.nonRobustIsSource,
      readoutRobust: r.readout.robust,
      readoutNonRobust: r.readout.nonRobust,
    },
  };
}
