import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * The planted-feature synthetic dataset (docs/synthetic-world.md): per class a robust low-frequency pattern and a
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
    /** The robust pattern's pose jitter: shift (px), rotation (degrees), relative scale. */
    robustShift: z.number().min(0).max(16).optional(),
    robustRotationDeg: z.number().min(0).max(180).optional(),
    robustScaleJitter: z.number().min(0).max(0.9).optional(),
    /** Scale of the second, smaller blob of another class (0: none). */
    distractor: z.number().min(0).max(1).optional(),
    nonRobustNorm: z.number().positive().max(5).optional(),
    nonRobustKind: z.enum(['grating', 'motif', 'tint']).optional(),
    motifSize: z.number().int().min(2).max(64).optional(),
    noise: z.number().min(0).max(1).optional(),
  })
  .strict();

const inputs = {} as const;
const outputs = { train: { kind: 'file' }, test: { kind: 'file' } } as const;

/** What the run code (stages/run/synthetic-dataset.ts) is handed. */
export type SyntheticDatasetContext = StageContext<z.output<typeof syntheticParams>, typeof inputs, typeof outputs>;

export const syntheticDataset = defineStage({
  name: 'synthetic-dataset',
  version: 1,
  module: import.meta.url,
  description: 'synthetic planted-feature train and test splits',
  params: syntheticParams,
  inputs,
  outputs,
  estimateSeconds: (p) => (p.trainCount + p.testCount) / 500,
  run: async (ctx) => (await import('./run/synthetic-dataset.ts')).runSyntheticDataset(ctx),
});
