import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { profileInfoSchema } from './schemas.ts';

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

const inputs = {
  dataset: { kind: 'file', description: 'the built D_R or D_NR' },
  base: { kind: 'file', description: 'the synthetic training set it was built from' },
  distances: { kind: 'file', optional: true, description: "build-dr's record of base and start images (D_R only)" },
} as const;
const outputs = {
  result: { kind: 'file', description: 'the quality figures as JSON' },
  report: { kind: 'dir', description: '<id>.md, .csv and .txt' },
} as const;

/** What the run code (stages/run/dataset-quality.ts) is handed. */
export type DatasetQualityContext = StageContext<z.output<typeof datasetQualityParams>, typeof inputs, typeof outputs>;

export const datasetQuality = defineStage({
  name: 'dataset-quality',
  version: 1,
  module: import.meta.url,
  description: 'which planted features a built D_R / D_NR carries (synthetic data)',
  params: datasetQualityParams,
  inputs,
  outputs,
  estimateSeconds: () => 5,
  run: async (ctx) => (await import('./run/dataset-quality.ts')).runDatasetQuality(ctx),
});
