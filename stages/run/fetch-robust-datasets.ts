import type { StageResult } from '../../engine/core/stage.ts';
import { fetchRobustDatasets, resolveRobustSource } from '../../ml/data/robust-datasets.ts';
import type { FetchRobustDatasetsContext } from '../fetch-robust-datasets.ts';

export async function runFetchRobustDatasets(ctx: FetchRobustDatasetsContext): Promise<StageResult> {
  const source = resolveRobustSource(ctx.params.source ?? undefined);
  const headers = await fetchRobustDatasets({
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
}
