/**
 * A dataset built in memory by D_R / D_NR construction: NHWC float images in [0, 1] and labels,
 * plus which base examples they came from. Writing it to the dataset file format is the stage's job.
 */
export interface BuiltDataset {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  /** Index in the base dataset of the example each built one stands for. */
  readonly baseIndices: Int32Array;
}

export function checkIndices(indices: ArrayLike<number>, count: number, who: string): Int32Array {
  const out = Int32Array.from(indices);
  for (const i of out) {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) {
      throw new Error(`${who}: index ${i} is outside the base dataset of ${count} examples`);
    }
  }
  return out;
}

export function checkBatchSize(batchSize: number, who: string): void {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`${who}: bad batchSize ${batchSize}`);
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length ? s / values.length : 0;
}
