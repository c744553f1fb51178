/**
 * The paper's training hyperparameters (SPEC.md, Training: the `paper` profile) in the trainer's
 * terms, so stages and profiles name a preset instead of repeating numbers. Epochs are |D| examples
 * (stepsForEpochs); snapshots are built from the run's steps per epoch with `snapshotSteps`.
 */
import type { LrSchedule } from './schedule.ts';
import { Q1_SNAPSHOTS, type DenseThenSparse } from './schedule.ts';
import type { SgdConfig } from './sgd.ts';

export interface TrainingPreset {
  readonly batchSize: number;
  readonly epochs: number;
  readonly sgd: SgdConfig;
  readonly schedule: LrSchedule;
  readonly augmentation: 'std' | 'std*';
  readonly snapshots?: DenseThenSparse;
}

/** Q1: ResNet-34, batch 64, wd 2e-4, lr 0.1 / 10 after 40k and 60k iterations, 100 epochs, snapshots. */
export const Q1_PRESET: TrainingPreset = {
  batchSize: 64,
  epochs: 100,
  sgd: { momentum: 0.9, weightDecay: 2e-4 },
  schedule: { kind: 'milestones', lr: 0.1, milestones: [40_000, 60_000], factor: 0.1 },
  augmentation: 'std',
  snapshots: Q1_SNAPSHOTS,
};

/** Q2 (and Q3's other settings): batch 128, wd 5e-4, lr 0.1 / 10 every 50 epochs, 150 epochs. */
export function q2Preset(lr = 0.1, augmentation: 'std' | 'std*' = 'std'): TrainingPreset {
  return {
    batchSize: 128,
    epochs: 150,
    sgd: { momentum: 0.9, weightDecay: 5e-4 },
    schedule: { kind: 'every-epochs', lr, everyEpochs: 50, factor: 0.1 },
    augmentation,
  };
}

/** Q3's learning-rate searches: {0.1, 0.01}, PTN {0.01, 0.005}. */
export const Q3_LEARNING_RATES = { default: [0.1, 0.01], ptn: [0.01, 0.005] } as const;

/**
 * The robust model f_A behind D_R: L2-PGD adversarial training, eps 0.5, 7 steps of 0.1 (Ilyas et
 * al.); SPEC.md fixes only the attack, so the rest follows Q2 (the robustness library's CIFAR
 * defaults, which are the same numbers).
 */
export const ROBUST_PRESET = { ...q2Preset(), attack: { norm: 'l2', eps: 0.5, step: 0.1, iterations: 7 } } as const;
