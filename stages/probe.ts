import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * (model, synthetic test set) -> how much the model relies on each planted feature (ml/probe/
 * reliance.ts): the conflict split (follows robust / non-robust / neither), robust-only and
 * non-robust-only accuracy, natural accuracy. Synthetic data only: the ground truth comes from the
 * set's metadata (generator parameters and the robust class of every image).
 */
export const probeParams = z
  .object({
    /** Probe a seeded subset of this many test images (absent: the whole set). */
    count: z.number().int().positive().optional(),
    subsetSeed: z.number().int().min(0).default(0),
    /** Seeds the conflict targets. */
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().max(4096).default(250),
  })
  .strict();

export type ProbeParams = z.input<typeof probeParams>;

export const probe = defineStage({
  name: 'probe',
  version: 1,
  module: import.meta.url,
  description: 'feature reliance of a model on the synthetic planted-feature test set',
  params: probeParams,
  inputs: { model: { kind: 'file' }, data: { kind: 'file', description: 'synthetic test set' } },
  outputs: { result: { kind: 'file', description: 'reliance figures as JSON' } },
  estimateSeconds: (p) => 2 + (3 * (p.count ?? 1000)) / 3000,
  async run(ctx) {
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    const { openDataset } = await import('../ml/data/dataset-file.ts');
    const { robustClassesFromMeta, syntheticBankFromMeta } = await import('../ml/data/synthetic.ts');
    const { loadModel } = await import('../ml/models/serialize.ts');
    const { featureReliance } = await import('../ml/probe/reliance.ts');
    const { selectSubset } = await import('../ml/attacks/subset.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');

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
  },
});
