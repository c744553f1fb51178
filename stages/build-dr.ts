import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { inputGradientSeconds } from './estimate-hints.ts';

/**
 * D_R (Ilyas et al.; SPEC.md, Building D_R): each example's image is re-synthesised from a random
 * other image by matching the robust model's penultimate representation, keeping the label.
 */
export const buildDrParams = z
  .object({
    steps: z.number().int().positive(),
    stepSize: z.number().positive(),
    /** The last step's size, the steps shrinking linearly to it (absent: constant, as Ilyas et al.). */
    finalStepSize: z.number().positive().optional(),
    seed: z.number().int().min(0),
    batchSize: z.number().int().positive().max(4096).default(64),
    /** Build from a seeded, class-balanced-by-chance subset of this many base examples (absent: all). */
    count: z.number().int().positive().optional(),
  })
  .strict();

export type BuildDrParams = z.input<typeof buildDrParams>;

export const buildDr = defineStage({
  name: 'build-dr',
  version: 1,
  module: import.meta.url,
  description: 'build D_R by representation inversion through a robust model',
  params: buildDrParams,
  inputs: { model: { kind: 'file', description: 'robust model f_A' }, data: { kind: 'file', description: 'base set D' } },
  outputs: { dataset: { kind: 'file' }, distances: { kind: 'file', description: 'per-image representation distances (JSON)' } },
  // Each inversion step is a forward and an input-gradient pass through the model (hints from the graph).
  estimateSeconds: (p, hints) => inputGradientSeconds(p.count, p.steps, hints),
  similarity: (p, hints) => [`${String(hints.model ?? '?')} bs${p.batchSize ?? '-'}`],
  async run(ctx) {
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    const { openDataset, writeDataset } = await import('../ml/data/dataset-file.ts');
    // The last model loaded stays in the worker for the next node that reads the same bytes.
    const { modelCache } = await import('../ml/models/model-cache.ts');
    const { buildRobustDataset } = await import('../ml/robust/build-dr.ts');
    const { selectSubset } = await import('../ml/attacks/subset.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');

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
    writeDataset(
      ctx.outputs.dataset,
      {
        height: r.height,
        width: r.width,
        channels: r.channels,
        numClasses: r.numClasses,
        dtype: 'float32',
        classNames: base.classNames,
        meta: {
          construction: 'D_R',
          steps: p.steps,
          stepSize: p.stepSize,
          ...(p.finalStepSize !== undefined ? { finalStepSize: p.finalStepSize } : {}),
          seed: p.seed,
          ...r.metrics,
        },
      },
      r.images,
      r.labels,
    );
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
  },
});
