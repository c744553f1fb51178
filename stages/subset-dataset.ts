import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * A seeded, class-balanced subset of a dataset artifact (`data.trainCount`, `data.testCount`,
 * `robust.count`), so a CPU user can train on 10,000 CIFAR-10 images. Count and seed are
 * parameters, so the subset is part of every downstream key. A set with fewer images than asked
 * (a partial copy) is refused with both numbers.
 */
export const subsetDataset = defineStage({
  name: 'subset-dataset',
  version: 1,
  module: import.meta.url,
  description: 'a seeded class-balanced subset of a dataset',
  params: z
    .object({
      count: z.number().int().positive(),
      seed: z.number().int().min(0),
      /** Where the count came from in params.yaml, for the error when the set is too small. */
      option: z.string().min(1),
    })
    .strict(),
  inputs: { data: { kind: 'file' } },
  outputs: { dataset: { kind: 'file' } },
  estimateSeconds: (p) => 1 + p.count / 20_000,
  async run(ctx) {
    const { openDataset } = await import('../ml/data/dataset-file.ts');
    const { selectSubset, writeSubset } = await import('../ml/data/subset.ts');
    const { count, seed, option } = ctx.params;
    const set = openDataset(ctx.inputs.data);
    if (count > set.count) throw new Error(`${option}: ${count} images asked of a set of ${set.count}; lower ${option} (or leave it out for the whole set)`);
    const indices = selectSubset(set.labels, set.numClasses, { kind: 'stratified', n: count, seed });
    writeSubset(ctx.outputs.dataset, set, indices, { subset: { of: set.count, count, seed, classBalanced: true } });
    const perClass = new Array<number>(set.numClasses).fill(0);
    for (const i of indices) perClass[set.labels[i]!]!++;
    return { metrics: { count, of: set.count, perClass } };
  },
});
