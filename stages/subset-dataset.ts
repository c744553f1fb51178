import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * A seeded, class-balanced subset of a dataset artifact (`data.trainCount`, `data.testCount`,
 * `robust.count`), so a CPU user can train on 10,000 CIFAR-10 images. Count and seed are
 * parameters, so the subset is part of every downstream key. A set with fewer images than asked
 * (a partial copy) is refused with both numbers.
 */
const subsetParams = z
  .object({
    count: z.number().int().positive(),
    seed: z.number().int().min(0),
    /** Where the count came from in params.yaml, for the error when the set is too small. */
    option: z.string().min(1),
  })
  .strict();
const inputs = { data: { kind: 'file' } } as const;
const outputs = { dataset: { kind: 'file' } } as const;

/** What the run code (stages/run/subset-dataset.ts) is handed. */
export type SubsetDatasetContext = StageContext<z.output<typeof subsetParams>, typeof inputs, typeof outputs>;

export const subsetDataset = defineStage({
  name: 'subset-dataset',
  version: 1,
  module: import.meta.url,
  description: 'a seeded class-balanced subset of a dataset',
  params: subsetParams,
  inputs,
  outputs,
  estimateSeconds: (p) => 1 + p.count / 20_000,
  run: async (ctx) => (await import('./run/subset-dataset.ts')).runSubsetDataset(ctx),
});
