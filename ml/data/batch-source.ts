/**
 * A training data stream whose every batch is a pure function of (seed, step): which examples,
 * from which dataset, with which augmentation draw. Resuming a killed training run at step k then
 * needs no saved data-loader state, and two runs with one seed see identical batches.
 */
export interface Batch {
  /** NHWC floats in [0, 1], `size` images. */
  readonly x: Float32Array;
  /** Class indices, `size` of them. */
  readonly y: Int32Array;
  readonly size: number;
}

export interface BatchSource {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly batchSize: number;
  /** Examples in one epoch (|D| for D_mix, docs/method/robust-datasets.md#d_mix). Steps per epoch = ceil(examplesPerEpoch / batchSize). */
  readonly examplesPerEpoch: number;
  /** The batch at global step `step` (0-based), augmented as configured. */
  batch(step: number): Batch;
}

export function stepsPerEpoch(source: Pick<BatchSource, 'examplesPerEpoch' | 'batchSize'>): number {
  return Math.ceil(source.examplesPerEpoch / source.batchSize);
}
