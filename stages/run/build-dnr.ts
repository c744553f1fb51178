import type { StageResult } from '../../engine/core/stage.ts';
import { selectSubset } from '../../ml/attacks/subset.ts';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
// The last model loaded stays in the worker for the next node that reads the same bytes.
import { modelCache } from '../../ml/models/model-cache.ts';
import { buildNonRobustDataset } from '../../ml/robust/build-dnr.ts';
import type { BuildDnrContext } from '../build-dnr.ts';
import { writeBuiltDataset } from './write-built.ts';

export async function runBuildDnr(ctx: BuildDnrContext): Promise<StageResult> {
  const p = ctx.params;
  ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
  const base = openDataset(ctx.inputs.data);
  if (p.count !== undefined && p.count > base.count) throw new Error(`build-dnr: count ${p.count} exceeds the base set's ${base.count} images`);
  const model = modelCache.load(ctx.inputs.model);
  const r = await buildNonRobustDataset(model, base, {
    variant: p.variant,
    eps: p.eps,
    step: p.step,
    iterations: p.iterations,
    seed: p.seed,
    batchSize: p.batchSize,
    indices: selectSubset(base.count, p.count, p.seed),
    onProgress: ctx.progress,
  });
  writeBuiltDataset(ctx.outputs.dataset, r, base.classNames, {
    construction: `D_${p.variant}`,
    eps: p.eps,
    step: p.step,
    iterations: p.iterations,
    seed: p.seed,
    ...r.metrics,
  });
  return { metrics: { count: r.count, ...r.metrics } };
}
