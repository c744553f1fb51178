import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * Ilyas et al.'s published D_R and D_NR (D_det, D_rand), downloaded or read locally, converted from
 * PyTorch's legacy serialisation to our dataset format.
 */
/** URL, local tarball or folder; null means $RF_ROBUST_DATASETS, else the authors' URL. */
export const robustDatasetsSource = z.string().min(1).nullable();

const fetchRobustParams = z
  .object({
    source: robustDatasetsSource,
  })
  .strict();
const inputs = {} as const;
const outputs = { robust: { kind: 'file' }, nonRobust: { kind: 'file' }, rand: { kind: 'file' }, det: { kind: 'file' } } as const;

/** What the run code (stages/run/fetch-robust-datasets.ts) is handed. */
export type FetchRobustDatasetsContext = StageContext<z.output<typeof fetchRobustParams>, typeof inputs, typeof outputs>;

export const fetchRobustDatasets = defineStage({
  name: 'fetch-robust-datasets',
  version: 1,
  module: import.meta.url,
  description: "Ilyas et al.'s D_R, D_NR, D_rand and D_det from their archive or a local copy",
  params: fetchRobustParams,
  inputs,
  outputs,
  estimateSeconds: () => 600,
  run: async (ctx) => (await import('./run/fetch-robust-datasets.ts')).runFetchRobustDatasets(ctx),
});
