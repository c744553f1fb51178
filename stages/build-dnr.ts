import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { inputGradientSeconds } from './estimate-hints.ts';

/**
 * D_NR (Ilyas et al.'s D_det / D_rand; SPEC.md, Building D_NR): each image pushed by targeted L2-PGD
 * on a standard model toward a new label t, and stored with t.
 */
export const buildDnrParams = z
  .object({
    variant: z.enum(['det', 'rand']),
    eps: z.number().positive(),
    step: z.number().positive(),
    iterations: z.number().int().positive(),
    seed: z.number().int().min(0),
    batchSize: z.number().int().positive().max(4096).default(128),
    count: z.number().int().positive().optional(),
  })
  .strict();

export type BuildDnrParams = z.input<typeof buildDnrParams>;

export const buildDnr = defineStage({
  name: 'build-dnr',
  version: 1,
  module: import.meta.url,
  description: 'build D_NR (D_det or D_rand) by targeted PGD on a standard model',
  params: buildDnrParams,
  inputs: { model: { kind: 'file', description: 'standard model' }, data: { kind: 'file', description: 'base set D' } },
  outputs: { dataset: { kind: 'file' } },
  // Each PGD iteration is a forward and an input-gradient pass through the model (hints from the graph).
  estimateSeconds: (p, hints) => inputGradientSeconds(p.count, p.iterations, hints),
  similarity: (p, hints) => [`${String(hints.model ?? '?')} bs${p.batchSize ?? '-'}`],
  async run(ctx) {
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    const { openDataset, writeDataset } = await import('../ml/data/dataset-file.ts');
    // The last model loaded stays in the worker for the next node that reads the same bytes.
    const { modelCache } = await import('../ml/models/model-cache.ts');
    const { buildNonRobustDataset } = await import('../ml/robust/build-dnr.ts');
    const { selectSubset } = await import('../ml/attacks/subset.ts');

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
    writeDataset(
      ctx.outputs.dataset,
      {
        height: r.height,
        width: r.width,
        channels: r.channels,
        numClasses: r.numClasses,
        dtype: 'float32',
        classNames: base.classNames,
        meta: { construction: `D_${p.variant}`, eps: p.eps, step: p.step, iterations: p.iterations, seed: p.seed, ...r.metrics },
      },
      r.images,
      r.labels,
    );
    return { metrics: { count: r.count, ...r.metrics } };
  },
});
