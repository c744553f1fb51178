import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * The planted-feature synthetic dataset (SPEC.md): per class a robust low-frequency pattern and a
 * non-robust high-frequency pattern of small L2 norm. Deterministic from its parameters.
 */
export const syntheticParams = z
  .object({
    seed: z.number().int().min(0),
    trainCount: z.number().int().min(10).max(1_000_000),
    testCount: z.number().int().min(10).max(1_000_000),
    size: z.number().int().min(8).max(256).default(32),
    robustStrength: z.number().positive().max(1).optional(),
    robustReliability: z.number().min(0).max(1).optional(),
    nonRobustNorm: z.number().positive().max(5).optional(),
    nonRobustKind: z.enum(['grating', 'motif', 'tint']).optional(),
    motifSize: z.number().int().min(2).max(64).optional(),
    noise: z.number().min(0).max(1).optional(),
  })
  .strict();

export const syntheticDataset = defineStage({
  name: 'synthetic-dataset',
  version: 1,
  module: import.meta.url,
  description: 'synthetic planted-feature train and test splits',
  params: syntheticParams,
  inputs: {},
  outputs: { train: { kind: 'file' }, test: { kind: 'file' } },
  estimateSeconds: (p) => (p.trainCount + p.testCount) / 500,
  async run(ctx) {
    const { writeSynthetic } = await import('../ml/data/synthetic.ts');
    const defined = Object.fromEntries(Object.entries(ctx.params).filter(([, v]) => v !== undefined));
    const r = writeSynthetic(defined, { trainPath: ctx.outputs.train, testPath: ctx.outputs.test }, ctx.progress);
    return { metrics: { train: r.train.count, test: r.test.count } };
  },
});
