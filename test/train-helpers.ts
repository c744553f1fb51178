// Test-only data: a small synthetic image task and an in-memory BatchSource over it.
import type { Batch, BatchSource } from '../ml/data/batch-source.ts';
import { stepsPerEpoch } from '../ml/data/batch-source.ts';
import { Rng } from '../ml/random.ts';

export interface TinySet {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
  readonly size: number;
  readonly numClasses: number;
}

/**
 * `count` size x size RGB images in [0, 1]: grey noise with one square blob whose colour says the
 * class (red, green, blue, yellow, ...), placed at a random position. Deterministic in `seed`.
 */
export function colourBlobs(count: number, size: number, numClasses: number, seed: number): TinySet {
  const palette = [
    [1, 0.1, 0.1],
    [0.1, 1, 0.1],
    [0.1, 0.1, 1],
    [1, 1, 0.1],
    [1, 0.1, 1],
    [0.1, 1, 1],
  ];
  if (numClasses > palette.length) throw new Error('colourBlobs: too many classes');
  const r = new Rng(seed);
  const x = new Float32Array(count * size * size * 3);
  const y = new Int32Array(count);
  const blob = Math.max(2, Math.round(size / 2));
  for (let n = 0; n < count; n++) {
    const c = r.int(numClasses);
    y[n] = c;
    const top = r.int(size - blob + 1),
      left = r.int(size - blob + 1);
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const inside = i >= top && i < top + blob && j >= left && j < left + blob;
        const grey = r.uniform(0.2, 0.6);
        for (let ch = 0; ch < 3; ch++) {
          const v = inside ? palette[c]![ch]! * r.uniform(0.7, 1) : grey + r.uniform(-0.05, 0.05);
          x[((n * size + i) * size + j) * 3 + ch] = Math.min(1, Math.max(0, v));
        }
      }
  }
  return { x, y, count, size, numClasses };
}

/** Batches as a pure function of (seed, step): epoch e visits a seeded permutation of the set. */
export class ArrayBatchSource implements BatchSource {
  readonly channels = 3;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly examplesPerEpoch: number;

  constructor(
    private readonly set: TinySet,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.height = this.width = set.size;
    this.numClasses = set.numClasses;
    this.examplesPerEpoch = set.count;
  }

  batch(step: number): Batch {
    const per = stepsPerEpoch(this);
    const perm = Rng.derive(this.seed, `epoch ${Math.floor(step / per)}`).permutation(this.set.count);
    const px = this.set.size * this.set.size * 3;
    const x = new Float32Array(this.batchSize * px);
    const y = new Int32Array(this.batchSize);
    for (let b = 0; b < this.batchSize; b++) {
      const idx = perm[((step % per) * this.batchSize + b) % this.set.count]!;
      x.set(this.set.x.subarray(idx * px, (idx + 1) * px), b * px);
      y[b] = this.set.y[idx]!;
    }
    return { x, y, size: this.batchSize };
  }
}
