/**
 * The shape of one params.yaml profile: where the data comes from, how D_R is obtained, and the
 * settings of the three experiments. Sweep axes are lists (alphas, learning rates, augmentations,
 * attacks); each combination becomes its own node. Model entries are checked in full by the train
 * stage, whose errors name the params.yaml path they came from.
 */
import { z } from 'zod';
import { BACKEND_CHOICES } from '../ml/backend/choice.ts';
import { defaultSlurm, slurmSettingsSchema } from '../engine/exec/slurm/config.ts';
import { ATTACK_PRESETS } from '../ml/attacks/config.ts';
import { buildDnrParams } from '../stages/build-dnr.ts';
import { buildDrParams } from '../stages/build-dr.ts';
import { evaluateParams } from '../stages/evaluate.ts';
import { cifar10Source } from '../stages/fetch-cifar10.ts';
import { robustDatasetsSource } from '../stages/fetch-robust-datasets.ts';
import { alphaSchema, augmentSchema, dnrVariantSchema, type familySchema, trainingAugmentationSchema, trainingDatasetSchema } from '../stages/schemas.ts';
import { adversarialSchema, trainParams } from '../stages/train.ts';
import { syntheticParams } from '../stages/synthetic-dataset.ts';

const attackName = z.string().refine((s) => Object.hasOwn(ATTACK_PRESETS, s), {
  message: `unknown attack; known: ${Object.keys(ATTACK_PRESETS).join(', ')}`,
});

/** A model without numClasses/inputSize, which the data decides. */
export const modelEntry = z.looseObject({ arch: z.string() });
export type ModelEntry = z.infer<typeof modelEntry>;

/** The train stage's settings a profile gives per experiment (the model, augmentation and data come from elsewhere). */
export const trainSettings = trainParams
  .pick({ batchSize: true, epochs: true, lr: true, momentum: true, weightDecay: true, checkpointEvery: true })
  .extend({ seed: trainParams.shape.seed.default(0) })
  .strict();
export type TrainSettings = z.infer<typeof trainSettings>;

/**
 * A model by its paper name. `train`, where given, replaces those of the experiment's train
 * settings for this model only (an architecture that needs another schedule at the profile's scale).
 */
const namedModel = z
  .object({
    name: z.string().min(1),
    model: modelEntry,
    train: trainParams.pick({ batchSize: true, epochs: true, lr: true, weightDecay: true }).partial().strict().optional(),
  })
  .strict();
export type NamedModel = z.infer<typeof namedModel>;

/** The experiment's train settings with a model's own replacements (`NamedModel.train`). */
export function trainSettingsFor(settings: TrainSettings, own: NamedModel['train']): TrainSettings {
  return own === undefined ? settings : { ...settings, ...own };
}

const dataSchema = z
  .object({
    source: z.enum(['synthetic', 'cifar10']),
    /** The planted-feature generator's settings (source synthetic). */
    synthetic: syntheticParams.optional(),
    /** URL, local tarball or folder (source cifar10); null: $RF_CIFAR10, else the official URL. */
    cifar10: cifar10Source.default(null),
    /** Train on a seeded class-balanced subset of this many images (absent: all of D). */
    trainCount: z.number().int().positive().optional(),
    /** Test on a seeded class-balanced subset of this many images (before evaluation.count). */
    testCount: z.number().int().positive().optional(),
    subsetSeed: z.number().int().min(0).default(0),
    /** Accept a local CIFAR-10 copy with fewer records per batch or fewer train batch files. */
    partial: z.boolean().default(false),
  })
  .strict()
  .refine((d) => d.source !== 'synthetic' || d.synthetic !== undefined, { message: "source 'synthetic' needs a 'synthetic' mapping", path: ['synthetic'] });

const robustSchema = z
  .object({
    /**
     * `build`: train f_A adversarially and invert its representation; `fetch`: Ilyas et al.'s files
     * (CIFAR-10 only); `auto`: their files when reachable ($RF_ROBUST_DATASETS, `fetch`, a local
     * datasets.tar), else `build`; the reports say which was used.
     */
    source: z.enum(['build', 'fetch', 'auto']),
    /** For `fetch`: URL, tarball or release_datasets folder; null: $RF_ROBUST_DATASETS, else the authors' URL. */
    fetch: robustDatasetsSource.default(null),
    /** Mix in a seeded class-balanced subset of this many D_R images (absent: all of it). */
    count: z.number().int().positive().optional(),
    model: modelEntry,
    train: trainSettings,
    augment: augmentSchema.default('std'),
    adversarial: adversarialSchema,
    build: buildDrParams.extend({ seed: buildDrParams.shape.seed.default(0) }).strict(),
    /** D_NR (D_det and D_rand) from a standard model of the same architecture; absent: not built. */
    nonRobust: buildDnrParams
      .pick({ eps: true, step: true, iterations: true, count: true })
      .extend({ variants: z.array(dnrVariantSchema).min(1), seed: buildDnrParams.shape.seed.default(0) })
      .strict()
      .optional(),
  })
  .strict();

/** The evaluate stage's settings but the attack, which each experiment names. */
const evaluationSchema = evaluateParams.omit({ attack: true }).strict();

const q1Schema = z
  .object({
    model: modelEntry,
    train: trainSettings,
    augment: augmentSchema.default('std'),
    /** Dense snapshots every `denseEvery` steps for `denseEpochs` epochs, then every `sparseEveryEpochs`. */
    snapshots: z
      .object({ denseEvery: z.number().int().positive(), denseEpochs: z.number().int().min(0), sparseEveryEpochs: z.number().int().positive() })
      .strict(),
    fig1: z.array(attackName).min(1),
    fig2: z.array(attackName).min(1),
  })
  .strict();

const q2Schema = z
  .object({
    alphas: z.array(alphaSchema).min(1),
    /** Figure 3's models by their paper name (ResNet-50, ResNet-18, VGG-16). A list, so a profile replaces it whole. */
    models: z.array(namedModel).min(1),
    train: trainSettings,
    augment: augmentSchema.default('std'),
    /** Attacks per model name; `default` for models not listed. */
    attacks: z.record(z.string(), z.array(attackName)),
  })
  .strict();

type Family = z.infer<typeof familySchema>;

const runsSchema = z
  .object({
    /** Backbones by their paper name (ResNet-18, ResNet-34; ResNet-50 for its own family). */
    backbones: z.array(namedModel).min(1),
    lrs: z.array(z.number().positive()).min(1),
  })
  .strict();

const q3Schema = z
  .object({
    families: z
      .object({ 'ResNet-50': runsSchema, 'G-ResNet': runsSchema, STN: runsSchema, PTN: runsSchema } satisfies Record<Family, unknown>)
      .partial()
      .strict(),
    datasets: z.array(trainingDatasetSchema).min(1),
    augmentations: z.array(trainingAugmentationSchema).min(1),
    train: trainSettings,
    attacks: z.array(attackName).min(1),
  })
  .strict();

export const profileSchema = z
  .object({
    /** One line for the reports on what this profile shrinks. */
    description: z.string().default(''),
    /** Tensor backend unless --backend or RF_BACKEND says otherwise; not part of node keys. */
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    /**
     * Nodes `repro` runs at once unless --jobs says otherwise; each then gets cores / jobs kernel
     * threads. Not part of node keys.
     */
    jobs: z.number().int().positive().default(1),
    /** Where nodes run unless --executor says otherwise: this machine, or one Slurm job per node. */
    executor: z.enum(['local', 'slurm']).default('local'),
    /** Partition, account, qos, time limits and per-stage resources for `--executor slurm` (README). */
    slurm: slurmSettingsSchema.default(defaultSlurm),
    data: dataSchema,
    robust: robustSchema,
    evaluation: evaluationSchema,
    q1: q1Schema,
    q2: q2Schema,
    q3: q3Schema,
  })
  .strict();

export type Profile = z.infer<typeof profileSchema>;
