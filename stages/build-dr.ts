import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { inputGradientSeconds } from './estimate-hints.ts';

/**
 * D_R (Ilyas et al.; docs/method/robust-datasets.md): each example's image is re-synthesised from a random
 * other image by matching the robust model's penultimate representation, keeping the label.
 */
export const buildDrParams = z
  .object({
    steps: z.number().int().positive(),
    stepSize: z.number().positive(),
    /** The last step's size, the steps shrinking linearly to it (absent: constant, as Ilyas et al.). */
    finalStepSize: z.number().positive().optional(),
    seed: z.number().int().min(0),
    batchSize: z.number().int().positive().max(4096).default(64),
    /** Build from a seeded, class-balanced-by-chance subset of this many base examples (absent: all). */
    count: z.number().int().positive().optional(),
  })
  .strict();

export type BuildDrParams = z.input<typeof buildDrParams>;

const inputs = { model: { kind: 'file', description: 'robust model f_A' }, data: { kind: 'file', description: 'base set D' } } as const;
const outputs = { dataset: { kind: 'file' }, distances: { kind: 'file', description: 'per-image representation distances (JSON)' } } as const;

/** What the run code (stages/run/build-dr.ts) is handed. */
export type BuildDrContext = StageContext<z.output<typeof buildDrParams>, typeof inputs, typeof outputs>;

export const buildDr = defineStage({
  name: 'build-dr',
  version: 1,
  module: import.meta.url,
  description: 'build D_R by representation inversion through a robust model',
  params: buildDrParams,
  inputs,
  outputs,
  // Each inversion step is a forward and an input-gradient pass through the model (hints from the graph).
  estimateSeconds: (p, hints) => inputGradientSeconds(p.count, p.steps, hints),
  similarity: (p, hints) => [`${String(hints.model ?? '?')} bs${p.batchSize ?? '-'}`],
  run: async (ctx) => (await import('./run/build-dr.ts')).runBuildDr(ctx),
});
