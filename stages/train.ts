import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { modelConfigSchema } from '../ml/models/config.ts';
import { NODE_OVERHEAD_SECONDS, forwardSeconds, trainingFactor } from '../ml/models/cost.ts';
import { hintNumber } from './estimate-hints.ts';

/**
 * Trains one model (SPEC.md, Training): SGD with momentum and weight decay on D, or on D_mix(alpha)
 * when a robust set is connected, with std / std* augmentation, optional L2-PGD adversarial
 * training (the robust model f_A), weight snapshots at the listed steps, and checkpoints in the
 * node's scratch folder so a killed run resumes where it stopped and ends with the same weights.
 */
export const lrScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), lr: z.number().positive() }).strict(),
  z
    .object({
      kind: z.literal('milestones'),
      lr: z.number().positive(),
      milestones: z.array(z.number().int().positive()),
      factor: z.number().positive(),
    })
    .strict(),
  z.object({ kind: z.literal('every-epochs'), lr: z.number().positive(), everyEpochs: z.number().int().positive(), factor: z.number().positive() }).strict(),
]);

export const adversarialSchema = z
  .object({
    /** L2 radius, PGD step size and steps per batch (Ilyas et al.: 0.5, 0.1, 7). */
    eps: z.number().positive(),
    step: z.number().positive(),
    iterations: z.number().int().positive(),
  })
  .strict();

export const trainParams = z
  .object({
    model: modelConfigSchema,
    seed: z.number().int().min(0),
    batchSize: z.number().int().min(1).max(4096),
    /** Epochs of |D| examples; the run lasts round(epochs * ceil(|D| / batchSize)) updates. */
    epochs: z.number().positive().max(10_000),
    lr: lrScheduleSchema,
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().min(0).max(1),
    augment: z.enum(['none', 'std', 'std*']),
    /** Fraction of every batch drawn from the connected robust set (D_mix); 0 = plain D. */
    alpha: z.number().min(0).max(1).default(0),
    adversarial: adversarialSchema.optional(),
    /** Update counts after which the weights are saved as snapshots (0 = initial weights). */
    snapshotSteps: z.array(z.number().int().min(0)).default([]),
    checkpointEvery: z.number().int().positive().default(500),
  })
  .strict();

export type TrainParams = z.input<typeof trainParams>;

export function snapshotFileName(step: number): string {
  return `step-${String(step).padStart(7, '0')}.model`;
}

export const train = defineStage({
  name: 'train',
  version: 1,
  module: import.meta.url,
  description: 'train a model on D or D_mix(alpha), with snapshots and resumable checkpoints',
  params: trainParams,
  inputs: {
    data: { kind: 'file', description: 'training set D' },
    robust: { kind: 'file', optional: true, description: 'D_R, mixed in at rate alpha' },
  },
  outputs: {
    model: { kind: 'file', description: 'final weights with their architecture' },
    snapshots: { kind: 'dir', description: 'weights at each listed step, step-NNNNNNN.model' },
    history: { kind: 'file', description: 'per-epoch loss, accuracy, learning rate (JSON; images/s is in the run series)' },
  },
  estimateSeconds: (p, hints) => {
    // A step costs about three forward passes, each PGD iteration of adversarial training two.
    const images = hintNumber(hints, 'trainCount', 50_000);
    const steps = Math.max(1, Math.round(p.epochs * Math.ceil(images / p.batchSize)));
    const pgd = p.adversarial ? 2 * p.adversarial.iterations : 0;
    const slowdown = hintNumber(hints, 'slowdown', 1);
    return NODE_OVERHEAD_SECONDS + steps * p.batchSize * forwardSeconds(p.model) * trainingFactor(p.model.arch) * (3 + pgd) * slowdown;
  },
  similarity: (p) => {
    const m = p.model as { arch: string; width?: number; blocks?: readonly number[] };
    const adv = p.adversarial ? `pgd${p.adversarial.iterations}` : 'std';
    return [`${m.arch} w${m.width ?? 1} b${m.blocks?.join('') ?? '-'} ${adv} bs${p.batchSize} ${p.model.inputSize}px`, `${m.arch} ${adv}`];
  },
  async run(ctx) {
    const { existsSync, mkdirSync, linkSync, copyFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    const { openDataset } = await import('../ml/data/dataset-file.ts');
    const { datasetSource, mixSource } = await import('../ml/data/sources.ts');
    const { augmentSpec } = await import('../ml/augment/standard.ts');
    const { createModel } = await import('../ml/models/registry.ts');
    const { saveModelAsync } = await import('../ml/models/serialize.ts');
    const { train: trainLoop } = await import('../ml/train/trainer.ts');
    const { stepsPerEpoch } = await import('../ml/data/batch-source.ts');
    const { pgdBatch } = await import('../ml/attacks/pgd.ts');
    const { writeFileAtomic } = await import('../base/atomic-write.ts');
    const { appendHistory, historyByEpoch } = await import('../ml/train/history.ts');

    const p = ctx.params;
    ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
    const D = openDataset(ctx.inputs.data);
    if (p.alpha > 0 && ctx.inputs.robust === undefined) throw new Error(`train: alpha=${p.alpha} needs a robust dataset input`);
    const augment = augmentSpec(p.augment);
    const source =
      p.alpha > 0 && ctx.inputs.robust !== undefined
        ? mixSource(D, openDataset(ctx.inputs.robust), p.alpha, { batchSize: p.batchSize, seed: p.seed, augment })
        : datasetSource(D, { batchSize: p.batchSize, seed: p.seed, augment });
    const perEpoch = stepsPerEpoch(source);
    const totalSteps = Math.max(1, Math.round(p.epochs * perEpoch));
    const late = p.snapshotSteps.filter((s) => s > totalSteps);
    if (late.length > 0) throw new Error(`train: snapshot steps ${late.join(', ')} lie beyond the run's ${totalSteps} updates`);

    const model = createModel(p.model, p.seed);
    const snapDir = join(ctx.scratchDir, 'snapshots');
    mkdirSync(snapDir, { recursive: true });
    const historyPath = join(ctx.scratchDir, 'history.jsonl');
    const adv = p.adversarial;
    const perturb = adv
      ? (m: typeof model, x: import('@tensorflow/tfjs').Tensor4D, y: import('@tensorflow/tfjs').Tensor1D) => {
          const r = pgdBatch(m, x, y, { norm: 'l2', eps: adv.eps, step: adv.step, iterations: adv.iterations });
          r.loss.dispose();
          return r.adversarial;
        }
      : undefined;

    const result = await trainLoop({
      model,
      data: source,
      schedule: p.lr,
      sgd: { momentum: p.momentum, weightDecay: p.weightDecay },
      totalSteps,
      snapshotSteps: p.snapshotSteps,
      onSnapshot: (step, m) => saveModelAsync(m, join(snapDir, snapshotFileName(step))),
      checkpoint: { path: join(ctx.scratchDir, 'checkpoint.bin'), everySteps: p.checkpointEvery },
      ...(perturb ? { perturb } : {}),
      runKey: ctx.nodeKey,
      onEpoch: (e) => {
        appendHistory(historyPath, e);
        ctx.series('epoch', e.epoch, { loss: e.loss, accuracy: e.accuracy, lr: e.lr, imagesPerSecond: e.imagesPerSecond });
      },
      onProgress: ctx.progress,
    });
    if (result.resumedFrom !== null) ctx.log(`resumed from step ${result.resumedFrom}`);

    await saveModelAsync(model, ctx.outputs.model);
    // The worker may run another node next: leave no variables behind.
    model.dispose();
    mkdirSync(ctx.outputs.snapshots, { recursive: true });
    for (const step of p.snapshotSteps) {
      const name = snapshotFileName(step);
      const from = join(snapDir, name);
      if (!existsSync(from)) throw new Error(`train: snapshot ${name} was not written`);
      try {
        linkSync(from, join(ctx.outputs.snapshots, name));
      } catch {
        copyFileSync(from, join(ctx.outputs.snapshots, name));
      }
    }
    // Epochs finished before a resume are in the scratch log too; keep the last record per epoch.
    // Throughput stays in the run's series (SQLite): in the artifact it would make the same
    // training give different bytes on every run, so nothing downstream could stop at "unchanged".
    const epochs = historyByEpoch(historyPath).map(({ imagesPerSecond: _timing, ...rest }) => rest);
    writeFileAtomic(ctx.outputs.history, `${JSON.stringify({ totalSteps, stepsPerEpoch: perEpoch, epochs }, null, 1)}\n`);
    const last = epochs.at(-1) as { loss?: number; accuracy?: number } | undefined;
    return { metrics: { steps: totalSteps, stepsPerEpoch: perEpoch, trainLoss: last?.loss ?? null, trainAccuracy: last?.accuracy ?? null } };
  },
});
