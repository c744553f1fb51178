import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { profileInfoSchema } from './table.ts';

/**
 * (built D_R or D_NR, its base set D) -> which planted pattern each built image carries
 * (ml/probe/built-set-quality.ts), as a report (Markdown, CSV, terminal text) and a JSON result
 * for the ground-truth report. Synthetic data only. D_R's base and start images come from the
 * build node's `distances` record; D_NR's bases are re-drawn from its (count, seed) exactly as
 * build-dnr draws them, and checked against the stored targets.
 */
export const datasetQualityParams = z.discriminatedUnion('construction', [
  z.object({ construction: z.literal('D_R'), profile: profileInfoSchema, builtBy: z.string().min(1) }).strict(),
  z
    .object({
      construction: z.enum(['D_det', 'D_rand']),
      profile: profileInfoSchema,
      builtBy: z.string().min(1),
      /** build-dnr's `count` and `seed`, which fixed its base examples. */
      count: z.number().int().positive().optional(),
      seed: z.number().int().min(0),
    })
    .strict(),
]);

export type DatasetQualityParams = z.input<typeof datasetQualityParams>;

export const datasetQuality = defineStage({
  name: 'dataset-quality',
  version: 1,
  module: import.meta.url,
  description: 'which planted features a built D_R / D_NR carries (synthetic data)',
  params: datasetQualityParams,
  inputs: {
    dataset: { kind: 'file', description: 'the built D_R or D_NR' },
    base: { kind: 'file', description: 'the synthetic training set it was built from' },
    distances: { kind: 'file', optional: true, description: "build-dr's record of base and start images (D_R only)" },
  },
  outputs: {
    result: { kind: 'file', description: 'the quality figures as JSON' },
    report: { kind: 'dir', description: '<id>.md, .csv and .txt' },
  },
  estimateSeconds: () => 5,
  async run(ctx) {
    const { mkdirSync, readFileSync } = await import('node:fs');
    const { openDataset } = await import('../ml/data/dataset-file.ts');
    const { robustClassesFromMeta, syntheticBankFromMeta } = await import('../ml/data/synthetic.ts');
    const { dnrQuality, drQuality } = await import('../ml/probe/built-set-quality.ts');
    const { nonRobustTargets } = await import('../ml/robust/build-dnr.ts');
    const { selectSubset } = await import('../ml/attacks/subset.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');
    const { writeQualityReport, qualityId } = await import('../report/dataset-quality.ts');

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
    writeQualityReport({ id: qualityId(p.construction), report: r, profile: p.profile, builtBy: p.builtBy }, ctx.outputs.report);
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
  },
});
