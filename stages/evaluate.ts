import { z } from 'zod';
import { defineStage } from '../engine/stage.ts';
import { ATTACK_PRESETS, AttackConfigSchema } from '../ml/attacks/config.ts';

/**
 * (model, test set, attack) -> natural accuracy, robust accuracy, ASR, per-class figures and, for
 * PGD, the mean perturbation (SPEC.md, Attacks). The figures are the node's metrics in SQLite and
 * its `result` artifact, which the table and figure stages read.
 */
const presetName = z.enum(Object.keys(ATTACK_PRESETS) as [keyof typeof ATTACK_PRESETS, ...(keyof typeof ATTACK_PRESETS)[]]);

export const evaluateParams = z
  .object({
    /** A preset name (`grid775`, `l2-0.5`, `linf-8-rs`, …) or a full attack description. */
    attack: z.union([presetName, AttackConfigSchema]),
    /** Evaluate a seeded subset of this many test images (absent: the whole set). */
    count: z.number().int().positive().optional(),
    subsetSeed: z.number().int().min(0).default(0),
    /** Seeds random starts and random targets. */
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().max(4096).default(128),
  })
  .strict();

export type EvaluateParams = z.input<typeof evaluateParams>;

export const evaluate = defineStage({
  name: 'evaluate',
  version: 1,
  module: import.meta.url,
  description: 'natural and robust accuracy and ASR of a model under one attack',
  params: evaluateParams,
  inputs: { model: { kind: 'file' }, data: { kind: 'file', description: 'test set' } },
  outputs: { result: { kind: 'file', description: 'figures as JSON' } },
  estimateSeconds: (p) => {
    const n = p.count ?? 10_000;
    const a = typeof p.attack === 'string' ? ATTACK_PRESETS[p.attack] : p.attack;
    const passes = a.kind === 'pgd' ? 2 * a.iterations + 1 : a.kind === 'grid' ? 150 : 1;
    return (n * passes) / 2000;
  },
  async run(ctx) {
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    const { openDataset } = await import('../ml/data/dataset-file.ts');
    // The last model loaded stays in the worker for the next node that reads the same bytes.
    const { modelCache } = await import('../ml/models/model-cache.ts');
    const { evaluateAttack } = await import('../ml/attacks/evaluate.ts');
    const { selectSubset } = await import('../ml/attacks/subset.ts');
    const { attackPreset, describeAttack } = await import('../ml/attacks/config.ts');
    const { writeFileAtomic } = await import('../ml/atomic-write.ts');

    const p = ctx.params;
    ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
    const attack = typeof p.attack === 'string' ? attackPreset(p.attack) : p.attack;
    const set = openDataset(ctx.inputs.data);
    const model = modelCache.load(ctx.inputs.model);
    if (p.count !== undefined && p.count > set.count) {
      throw new Error(`evaluate: count ${p.count} exceeds the test set's ${set.count} images`);
    }
    const indices = selectSubset(set.count, p.count, p.subsetSeed);
    const r = await evaluateAttack(model, set, attack, { indices, batchSize: p.batchSize, seed: p.seed, onProgress: ctx.progress });
    const figures = {
      attack: describeAttack(attack),
      config: attack,
      count: r.count,
      naturalAccuracy: r.naturalAccuracy,
      robustAccuracy: r.robustAccuracy,
      asr: r.asr,
      fooled: r.fooled,
      ...(r.meanPerturbationL2 !== undefined ? { meanPerturbationL2: r.meanPerturbationL2 } : {}),
      ...(r.meanPerturbationLInf !== undefined ? { meanPerturbationLInf: r.meanPerturbationLInf } : {}),
      ...(r.gridEvaluations !== undefined ? { gridEvaluations: r.gridEvaluations } : {}),
    };
    writeFileAtomic(ctx.outputs.result, `${JSON.stringify({ ...figures, perClass: r.perClass }, null, 1)}\n`);
    return { metrics: figures };
  },
});
