import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { selectSubset } from '../../ml/attacks/subset.ts';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
import { robustClassesFromMeta, syntheticBankFromMeta } from '../../ml/data/synthetic.ts';
import { loadModel } from '../../ml/models/serialize.ts';
import { featureReliance } from '../../ml/probe/reliance.ts';
import type { ProbeContext } from '../probe.ts';

export async function runProbe(ctx: ProbeContext): Promise<StageResult> {
  const p = ctx.params;
  ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
  const set = openDataset(ctx.inputs.data);
  const truth = { bank: syntheticBankFromMeta(set.meta), robustClass: robustClassesFromMeta(set.meta) };
  if (p.count !== undefined && p.count > set.count) throw new Error(`probe: count ${p.count} exceeds the test set's ${set.count} images`);
  const model = loadModel(ctx.inputs.model);
  const r = await featureReliance(model, set, truth, {
    indices: selectSubset(set.count, p.count, p.subsetSeed),
    seed: p.seed,
    batchSize: p.batchSize,
    onProgress: ctx.progress,
  });
  model.dispose();
  writeFileAtomic(ctx.outputs.result, `${JSON.stringify(r, null, 1)}\n`);
  return {
    metrics: {
      count: r.count,
      naturalAccuracy: r.naturalAccuracy,
      conflictFollowsRobust: r.conflict.followsRobust,
      conflictFollowsNonRobust: r.conflict.followsNonRobust,
      conflictNeither: r.conflict.neither,
      robustOnlyAccuracy: r.robustOnly.accuracy,
      nonRobustOnlyAccuracy: r.nonRobustOnly.accuracy,
    },
  };
}
