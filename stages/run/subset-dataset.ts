import type { StageResult } from '../../engine/core/stage.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
import { selectSubset, writeSubset } from '../../ml/data/subset.ts';
import type { SubsetDatasetContext } from '../subset-dataset.ts';

export function runSubsetDataset(ctx: SubsetDatasetContext): StageResult {
  const { count, seed, option } = ctx.params;
  const set = openDataset(ctx.inputs.data);
  if (count > set.count) throw new Error(`${option}: ${count} images asked of a set of ${set.count}; lower ${option} (or leave it out for the whole set)`);
  const indices = selectSubset(set.labels, set.numClasses, { kind: 'stratified', n: count, seed });
  writeSubset(ctx.outputs.dataset, set, indices, { subset: { of: set.count, count, seed, classBalanced: true } });
  const perClass = new Array<number>(set.numClasses).fill(0);
  for (const i of indices) perClass[set.labels[i]!]!++;
  return { metrics: { count, of: set.count, perClass } };
}
