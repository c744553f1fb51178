import { z } from 'zod';

/**
 * Parameter schemas more than one stage declares (and experiments/profile.ts builds on), each
 * declared once. Stage declarations import them from here rather than from each other: a
 * declaration names its run code through a lazy import, which the engine follows into the code
 * digest, so one stage importing another's declaration would take on that stage's code.
 */

/** Fraction of every batch drawn from the connected robust set D_R (D_mix(alpha)); 0 = plain D. */
export const alphaSchema = z.number().min(0).max(1);

/** The training augmentation: none, std or std* (ml/augment/standard.ts). */
export const augmentSchema = z.enum(['none', 'std', 'std*']);

/** The profile shown at the head of a report. */
export const profileInfoSchema = z
  .object({
    name: z.string().min(1),
    synthetic: z.boolean(),
    description: z.string().optional(),
    asRun: z.string().optional(),
    notes: z.array(z.string()).optional(),
  })
  .strict();

/** Q3's model families, the paper's names. */
export const familySchema = z.enum(['ResNet-50', 'G-ResNet', 'STN', 'PTN']);
/** What a Q3 run trains on: D, or D_R. */
export const trainingDatasetSchema = z.enum(['D', 'D_R']);
/** Q3's augmentations (a subset of the train stage's). */
export const trainingAugmentationSchema = augmentSchema.extract(['std', 'std*']);

/** D_det (target t = y + 1 mod k) or D_rand (t drawn at random). */
export const dnrVariantSchema = z.enum(['det', 'rand']);
