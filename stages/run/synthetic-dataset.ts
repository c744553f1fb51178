import type { StageResult } from '../../engine/core/stage.ts';
import { writeSynthetic } from '../../ml/data/synthetic.ts';
import type { SyntheticDatasetContext } from '../synthetic-dataset.ts';

export function runSyntheticDataset(ctx: SyntheticDatasetContext): StageResult {
  const defined = Object.fromEntries(Object.entries(ctx.params).filter(([, v]) => v !== undefined));
  const r = writeSynthetic(defined, { trainPath: ctx.outputs.train, testPath: ctx.outputs.test }, ctx.progress);
  return { metrics: { train: r.train.count, test: r.test.count } };
}
