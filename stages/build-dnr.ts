import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { inputGradientSeconds } from './estimate-hints.ts';
import { dnrVariantSchema } from './schemas.ts';

/**
 * D_NR (Ilyas et al.'s D_det / D_rand; docs/method/robust-datasets.md): each image pushed by targeted L2-PGD
 * on a standard model toward a new label t, and stored with t.
 */
export const buildDnrParams = z
  .object({
    variant: dnrVariantSchema,
    eps: z.number().positive(),
    step: z.number().positive(),
    iterations: z.number().int().positive(),
    seed: z.number().int().min(0),
    batchSize: z.number().int().positive().max(4096).default(128),
    count: z.number().int().positive().optional(),
  })
  .strict();

export type BuildDnrParams = z.input<typeof buildDnrParams>;

const inputs = { model: { kind: 'file', description: 'standard model' }, data: { kind: 'file', description: 'base set D' } } as const;
const outputs = { dataset: { kind: 'file' } } as const;

/** What the run code (stages/run/build-dnr.ts) is handed. */
export type BuildDnrContext = StageContext<z.output<typeof buildDnrParams>, typeof inputs, typeof outputs>;

export const buildDnr = defineStage({
  name: 'build-dnr',
  version: 1,
  module: import.meta.url,
  description: 'build D_NR (D_det or D_rand) by targeted PGD on a standard model',
  params: buildDnrParams,
  inputs,
  outputs,
  // Each PGD iteration is a forward and an input-gradient pass through the model (hints from the graph).
  estimateSeconds: (p, hints) => inputGradientSeconds(p.count, p.iterations, hints),
  similarity: (p, hints) => [`${String(hints.model ?? '?')} bs${p.batchSize ?? '-'}`],
  run: async (ctx) => (await import('./run/build-dnr.ts')).runBuildDnr(ctx),
});
