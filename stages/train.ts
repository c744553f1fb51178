import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { modelConfigSchema } from '../ml/models/config.ts';
import { NODE_OVERHEAD_SECONDS, forwardSeconds, trainingFactor } from '../ml/models/cost.ts';
import { hintNumber } from './estimate-hints.ts';
import { alphaSchema, augmentSchema } from './schemas.ts';

/**
 * Trains one model (docs/method/training.md): SGD with momentum and weight decay on D, or on D_mix(alpha)
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
    augment: augmentSchema,
    alpha: alphaSchema.default(0),
    adversarial: adversarialSchema.optional(),
    /** Update counts after which the weights are saved as snapshots (0 = initial weights). */
    snapshotSteps: z.array(z.number().int().min(0)).default([]),
    checkpointEvery: z.number().int().positive().default(500),
  })
  .strict();

export type TrainParams = z.input<typeof trainParams>;

const inputs = {
  data: { kind: 'file', description: 'training set D' },
  robust: { kind: 'file', optional: true, description: 'D_R, mixed in at rate alpha' },
} as const;
const outputs = {
  model: { kind: 'file', description: 'final weights with their architecture' },
  snapshots: { kind: 'dir', description: 'weights at each listed step, step-NNNNNNN.model' },
  history: { kind: 'file', description: 'per-epoch loss, accuracy, learning rate (JSON; images/s is in the run series)' },
} as const;

/** What the run code (stages/run/train.ts) is handed. */
export type TrainContext = StageContext<z.output<typeof trainParams>, typeof inputs, typeof outputs>;

export const train = defineStage({
  name: 'train',
  version: 1,
  module: import.meta.url,
  description: 'train a model on D or D_mix(alpha), with snapshots and resumable checkpoints',
  params: trainParams,
  inputs,
  outputs,
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
  run: async (ctx) => (await import('./run/train.ts')).runTrain(ctx),
});
