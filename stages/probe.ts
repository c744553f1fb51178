import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * (model, synthetic test set) -> how much the model relies on each planted feature (ml/probe/
 * reliance.ts): the conflict split (follows robust / non-robust / neither), robust-only and
 * non-robust-only accuracy, natural accuracy. Synthetic data only: the ground truth comes from the
 * set's metadata (generator parameters and the robust class of every image).
 */
export const probeParams = z
  .object({
    /** Probe a seeded subset of this many test images (absent: the whole set). */
    count: z.number().int().positive().optional(),
    subsetSeed: z.number().int().min(0).default(0),
    /** Seeds the conflict targets. */
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().max(4096).default(250),
  })
  .strict();

export type ProbeParams = z.input<typeof probeParams>;

const inputs = { model: { kind: 'file' }, data: { kind: 'file', description: 'synthetic test set' } } as const;
const outputs = { result: { kind: 'file', description: 'reliance figures as JSON' } } as const;

/** What the run code (stages/run/probe.ts) is handed. */
export type ProbeContext = StageContext<z.output<typeof probeParams>, typeof inputs, typeof outputs>;

export const probe = defineStage({
  name: 'probe',
  version: 1,
  module: import.meta.url,
  description: 'feature reliance of a model on the synthetic planted-feature test set',
  params: probeParams,
  inputs,
  outputs,
  estimateSeconds: (p) => 2 + (3 * (p.count ?? 1000)) / 3000,
  run: async (ctx) => (await import('./run/probe.ts')).runProbe(ctx),
});
