/**
 * The training loop (docs/method/training.md): SGD with momentum and weight decay on batches from a
 * BatchSource, a piecewise-constant learning rate, optional per-batch perturbation (adversarial
 * training), snapshots at given step counts, per-epoch metrics, progress, and checkpoints from which
 * a killed run resumes to the same final weights as an uninterrupted one (same backend).
 *
 * Order of events after update s (s = updates done): epoch metrics (when an epoch ends), snapshot
 * (when s is listed), checkpoint (every `everySteps` and at the end), progress. A checkpoint is
 * written after the snapshot callback returns, so a run killed inside the callback repeats that
 * snapshot on resume, with bit-identical weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/batch-source.ts';
import { stepsPerEpoch } from '../data/batch-source.ts';
import type { Model } from '../models/model.ts';
import type { ProgressSink } from '../../contracts/progress.ts';
import { restoreCheckpoint, saveCheckpoint, type EpochAccumulator } from './checkpoint.ts';
import { learningRate, validateSchedule, type LrSchedule } from './schedule.ts';
import { Sgd, type SgdConfig } from './sgd.ts';
import { trainStepAsync } from './step.ts';
import { prepareSyncRead } from '../backend/sync-read.ts';

/**
 * Replaces a batch before the update, e.g. by its L2-PGD adversarial examples. Called outside any
 * gradient tape with the model as it is before update `step`; must return a new tensor of x's shape
 * (the trainer disposes it) or x itself. Must be deterministic given (model, x, y, step) for resume
 * to be exact.
 */
export type Perturb = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, step: number) => tf.Tensor4D;

export interface EpochMetrics {
  /** 0-based epoch index. */
  readonly epoch: number;
  /** Updates done at the end of this epoch. */
  readonly step: number;
  /** Mean training loss and accuracy over the epoch's (possibly perturbed) batches, train mode. */
  readonly loss: number;
  readonly accuracy: number;
  readonly examples: number;
  /** Learning rate of the epoch's last update. */
  readonly lr: number;
  /** True for a last epoch cut short by totalSteps. */
  readonly partial: boolean;
  /** Throughput over the part of the epoch run by this process (wall clock, not reproducible). */
  readonly imagesPerSecond: number;
}

export interface CheckpointOptions {
  /** Checkpoint file; resumed from when it exists at the start. */
  readonly path: string;
  readonly everySteps: number;
}

export interface TrainOptions {
  readonly model: Model;
  readonly data: BatchSource;
  readonly schedule: LrSchedule;
  readonly sgd: SgdConfig;
  /** Total updates; `epochs * stepsPerEpoch(data)` for an epoch budget (see stepsForEpochs). */
  readonly totalSteps: number;
  /** Update counts after which `onSnapshot` sees the model (0 = the initial weights). */
  readonly snapshotSteps?: readonly number[];
  readonly onSnapshot?: (step: number, model: Model) => void | Promise<void>;
  readonly checkpoint?: CheckpointOptions;
  readonly perturb?: Perturb;
  readonly onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  readonly onProgress?: ProgressSink;
  /** Abort between updates; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Anything else that identifies the run (seeds, dataset keys); part of the checkpoint fingerprint,
   * so a checkpoint is never resumed by a different run.
   */
  readonly runKey?: string;
}

export interface TrainResult {
  /** Updates done (= totalSteps). */
  readonly steps: number;
  /** Step the run resumed from, or null for a fresh start. */
  readonly resumedFrom: number | null;
  /** Epoch metrics emitted by this call (epochs finished before a resume are not repeated). */
  readonly epochs: readonly EpochMetrics[];
}

export function stepsForEpochs(data: Pick<BatchSource, 'examplesPerEpoch' | 'batchSize'>, epochs: number): number {
  return epochs * stepsPerEpoch(data);
}

const EMPTY: EpochAccumulator = { lossSum: 0, correct: 0, examples: 0, steps: 0 };

function checkOptions(o: TrainOptions): void {
  const { model, data } = o;
  const s = model.config.inputSize;
  if (data.height !== s || data.width !== s || data.channels !== 3) {
    throw new Error(`train: data is ${data.height}x${data.width}x${data.channels}, the model takes ${s}x${s}x3`);
  }
  if (data.numClasses > model.numClasses) {
    throw new Error(`train: data has ${data.numClasses} classes, the model only ${model.numClasses}`);
  }
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) throw new Error(`train: totalSteps must be a positive integer, got ${o.totalSteps}`);
  validateSchedule(o.schedule, 'train: schedule');
  for (const st of o.snapshotSteps ?? []) {
    if (!Number.isInteger(st) || st < 0 || st > o.totalSteps) throw new Error(`train: snapshot step ${st} outside 0..${o.totalSteps}`);
  }
  if (o.checkpoint && (!Number.isInteger(o.checkpoint.everySteps) || o.checkpoint.everySteps < 1)) {
    throw new Error(`train: checkpoint.everySteps must be a positive integer, got ${o.checkpoint.everySteps}`);
  }
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  checkOptions(options);
  const { model, data, schedule, totalSteps, onProgress, signal } = options;
  const perEpoch = stepsPerEpoch(data);
  const snapshots = new Set(options.snapshotSteps ?? []);
  const optimizer = new Sgd(model.namedVariables, options.sgd);
  const fingerprint = {
    model: model.config,
    sgd: options.sgd,
    schedule,
    totalSteps,
    batchSize: data.batchSize,
    examplesPerEpoch: data.examplesPerEpoch,
    perturbed: options.perturb !== undefined,
    runKey: options.runKey ?? null,
  };
  try {
    let step = 0;
    let acc: EpochAccumulator = EMPTY;
    let resumedFrom: number | null = null;
    if (options.checkpoint) {
      const state = restoreCheckpoint(options.checkpoint.path, fingerprint, model, optimizer);
      if (state) {
        step = resumedFrom = state.step;
        acc = state.epoch;
      }
    }
    if (step === 0 && snapshots.has(0)) await options.onSnapshot?.(0, model);

    const epochs: EpochMetrics[] = [];
    const started = performance.now();
    let epochStarted = started;
    let epochImages = 0;
    while (step < totalSteps) {
      signal?.throwIfAborted();
      const lr = learningRate(schedule, step, perEpoch);
      const batch = data.batch(step);
      const x = tf.tensor4d(batch.x, [batch.size, data.height, data.width, data.channels]);
      const y = tf.tensor1d(batch.y, 'int32');
      let input = x;
      try {
        if (options.perturb) {
          input = options.perturb(model, x, y, step);
          if (input.shape.join() !== x.shape.join()) throw new Error(`train: perturb returned shape [${input.shape}] for [${x.shape}]`);
        }
        const r = await trainStepAsync(model, optimizer, input, y, lr);
        if (!Number.isFinite(r.loss)) throw new Error(`train: loss became ${r.loss} at step ${step} (lr ${lr})`);
        acc = {
          lossSum: acc.lossSum + r.loss * batch.size,
          correct: acc.correct + r.correct,
          examples: acc.examples + batch.size,
          steps: acc.steps + 1,
        };
      } finally {
        if (input !== x) input.dispose();
        tf.dispose([x, y]);
      }
      step += 1;
      epochImages += batch.size;

      const epochEnds = step % perEpoch === 0 || step === totalSteps;
      if (epochEnds) {
        const seconds = (performance.now() - epochStarted) / 1000;
        const m: EpochMetrics = {
          epoch: Math.floor((step - 1) / perEpoch),
          step,
          loss: acc.lossSum / acc.examples,
          accuracy: acc.correct / acc.examples,
          examples: acc.examples,
          lr,
          partial: step % perEpoch !== 0,
          imagesPerSecond: seconds > 0 ? epochImages / seconds : 0,
        };
        epochs.push(m);
        await options.onEpoch?.(m);
      }
      if (snapshots.has(step)) await options.onSnapshot?.(step, model);
      const current = epochEnds ? EMPTY : acc;
      if (options.checkpoint && (step % options.checkpoint.everySteps === 0 || step === totalSteps)) {
        await prepareSyncRead([...model.namedVariables, ...optimizer.buffers].map((v) => v.variable));
        saveCheckpoint(options.checkpoint.path, { step, fingerprint, epoch: current }, model, optimizer);
      }
      if (onProgress) {
        const elapsed = (performance.now() - started) / 1000;
        const rate = (step - (resumedFrom ?? 0)) / elapsed;
        onProgress({
          done: step,
          total: totalSteps,
          unit: 'step',
          info: {
            epoch: Math.floor((step - 1) / perEpoch) + 1,
            loss: acc.examples > 0 ? acc.lossSum / acc.examples : 0,
            acc: acc.examples > 0 ? acc.correct / acc.examples : 0,
            lr,
            'img/s': rate * data.batchSize,
            eta_s: rate > 0 ? (totalSteps - step) / rate : 0,
          },
        });
      }
      if (epochEnds) {
        acc = EMPTY;
        epochStarted = performance.now();
        epochImages = 0;
      }
    }
    return { steps: step, resumedFrom, epochs };
  } finally {
    optimizer.dispose();
  }
}
