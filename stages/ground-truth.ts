import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { alphaSchema, dnrVariantSchema, familySchema, profileInfoSchema, trainingAugmentationSchema, trainingDatasetSchema } from './schemas.ts';

/**
 * The ground-truth report (report/ground-truth.ts): gathers every probe result (Q1 snapshots, Q2
 * D_mix models, Table 1's models, f_A, the D_NR model) and the D_R / D_NR quality results, and
 * writes ground-truth.md, .csv, .svg, .png and .txt. On real data there are no probes and the
 * report says why.
 */
const q1Subject = z.object({ kind: z.literal('q1'), step: z.number().int().min(0) }).strict();
const q2Subject = z.object({ kind: z.literal('q2'), model: z.string().min(1), alpha: alphaSchema }).strict();
const fASubject = z.object({ kind: z.literal('fA') }).strict();
const subject = z.discriminatedUnion('kind', [
  q1Subject,
  q2Subject,
  z
    .object({
      kind: z.literal('q3'),
      family: familySchema,
      backbone: z.string().min(1),
      lr: z.number().positive(),
      dataset: trainingDatasetSchema,
      augmentation: trainingAugmentationSchema,
    })
    .strict(),
  fASubject,
  z.object({ kind: z.literal('dnr'), variant: dnrVariantSchema }).strict(),
]);

export const groundTruthParams = z
  .object({
    profile: profileInfoSchema,
    /** Aligned with the `probes` inputs. */
    probes: z.array(z.object({ subject, nodes: z.array(z.string().min(1)).min(1) }).strict()),
    /** Aligned with the `qualities` inputs: the dataset-quality node of each. */
    qualities: z.array(z.object({ node: z.string().min(1) }).strict()),
    /** Aligned with the `evals` inputs: Figures 1-3's evaluations of probed models. */
    attacks: z
      .array(
        z
          .object({
            subject: z.discriminatedUnion('kind', [q1Subject, q2Subject, fASubject]),
            attack: z.string().min(1),
            node: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
    unavailable: z.string().min(1).optional(),
  })
  .strict();

export type GroundTruthParams = z.input<typeof groundTruthParams>;

const inputs = {
  probes: { kind: 'file', many: true, description: 'probe results, aligned with params.probes' },
  qualities: { kind: 'file', many: true, description: 'dataset-quality results, aligned with params.qualities' },
  evals: { kind: 'file', many: true, description: 'evaluate results of Figures 1-3, aligned with params.attacks' },
} as const;
const outputs = { report: { kind: 'dir', description: 'ground-truth.md, .csv, .svg, .png and .txt' } } as const;

/** What the run code (stages/run/ground-truth.ts) is handed. */
export type GroundTruthContext = StageContext<z.output<typeof groundTruthParams>, typeof inputs, typeof outputs>;

export const groundTruth = defineStage({
  name: 'ground-truth',
  version: 1,
  module: import.meta.url,
  description: 'the ground-truth report: measured feature reliance and D_R / D_NR quality (synthetic data)',
  params: groundTruthParams,
  inputs,
  outputs,
  estimateSeconds: () => 5,
  run: async (ctx) => (await import('./run/ground-truth.ts')).runGroundTruth(ctx),
});
