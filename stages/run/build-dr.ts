import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { selectSubset } from '../../ml/attacks/subset.ts';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
// The last model loaded stays in the worker for the next node that reads the same bytes.
import { modelCache } from '../../ml/models/model-cache.ts';
import { buildRobustDataset } from '../../ml/robust/build-dr.ts';
import type { BuildDrContext } from '../build-dr.ts';
import { writeBuiltDataset } from './write-built.ts';

export async function runBuildDr(ctx: BuildDrContext): Promise<StageResult> {
  const p = ctx.params;
  ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
  const base = openDataset(ctx.inputs.data);
  if (p.count !== undefined && p.count > base.count) throw new Error(`build-dr: count ${p.count} exceeds the base set's ${base.count} images`);
  const model = modelCache.load(ctx.inputs.model);
  const r = await buildRobustDataset(model, base, {
    steps: p.steps,
    stepSize: p.stepSize,
    ...(p.finalStepSize !== undefined ? { finalStepSize: p.finalStepSize } : {}),
    seed: p.seed,
    batchSize: p.batchSize,
    indices: selectSubset(base.count, p.count, p.seed),
    onProgress: ctx.progress,
  });
  writeBuiltDataset(ctx.outputs.dataset, r, base.classNames, {
    construction: 'D_R',
    steps: p.steps,
    stepSize: p.stepSize,
    ...(p.finalStepSize !== undefined ? { finalStepSize: p.finalStepSize } : {}),
    seed: p.seed,
    ...r.metrics,
  });
  writeFileAtomic(
    ctx.outputs.distances,
    `${JSON.stringify({
      baseIndices: Array.from(r.baseIndices),
      sourceIndices: Array.from(r.sourceIndices),
      initialDistances: Array.from(r.initialDistances),
      distances: Array.from(r.distances),
    })}\n`,
  );
  return { metrics: { count: r.count, ...r.metrics } };
}
