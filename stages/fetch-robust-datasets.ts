import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * Ilyas et al.'s published D_R and D_NR (D_det, D_rand), downloaded or read locally, converted from
 * PyTorch's legacy serialisation to our dataset format.
 */
export const fetchRobustDatasets = defineStage({
  name: 'fetch-robust-datasets',
  version: 1,
  module: import.meta.url,
  description: "Ilyas et al.'s D_R, D_NR, D_rand and D_det from their archive or a local copy",
  params: z
    .object({
      /** URL, local tarball or folder; null means $RF_ROBUST_DATASETS, else the authors' URL. */
      source: z.string().min(1).nullable(),
    })
    .strict(),
  inputs: {},
  outputs: { robust: { kind: 'file' }, nonRobust: { kind: 'file' }, rand: { kind: 'file' }, det: { kind: 'file' } },
  estimateSeconds: () => 600,
  async run(ctx) {
    const { fetchRobustDatasets: fetch, resolveRobustSource } = await import('../ml/data/robust-datasets.ts');
    const source = resolveRobustSource(ctx.params.source ?? undefined);
    const headers = await fetch({
      source,
      outputs: {
        d_robust_CIFAR: ctx.outputs.robust,
        d_non_robust_CIFAR: ctx.outputs.nonRobust,
        drand_CIFAR: ctx.outputs.rand,
        ddet_CIFAR: ctx.outputs.det,
      },
      downloadDir: ctx.scratchDir,
      extractDir: ctx.scratchDir,
      onProgress: ctx.progress,
    });
    return { metrics: Object.fromEntries(Object.entries(headers).map(([k, h]) => [k, h.count])) };
  },
});
