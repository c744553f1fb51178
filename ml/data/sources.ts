/**
 * Training batch sources (contract: batch-source.ts): every batch is a pure function of
 * (seed, step). A source reads each dataset as an endless stream of epoch permutations
 * (permutation e drawn from (seed, stream name, e)), so which examples a batch holds follows from
 * how many examples earlier steps consumed — a closed form, no loader state.
 *
 * D_mix(α) (docs/method/robust-datasets.md#d_mix): a batch of size b takes round(α·b) examples from the D_R stream and the
 * rest from the D stream; an epoch is |D| examples, so it has ceil(|D|/B) steps, the last one
 * possibly short. Each stream is drawn without replacement within its own epochs. α = 0 reads D
 * exactly as `datasetSource(D)` does; α = 1 reads D_R as `datasetSource(D_R, { stream: 'D_R' })`.
 */
import { Rng } from '../random.ts';
import { augmentBatch, type AugmentSpec } from '../augment/standard.ts';
import type { Batch, BatchSource } from './batch-source.ts';
import { imageSize, type ImageSet } from './image-set.ts';

/** Positions [start, start + n) of the endless concatenation of seeded permutations of 0..count-1. */
export class PermutedStream {
  private cache = new Map<number, Int32Array>();
  constructor(
    readonly count: number,
    readonly seed: number,
    readonly name: string,
  ) {
    if (!Number.isInteger(count) || count <= 0) throw new Error(`stream ${name}: needs a non-empty dataset, got ${count} examples`);
  }

  permutation(epoch: number): Int32Array {
    let p = this.cache.get(epoch);
    if (!p) {
      p = Rng.derive(this.seed, `${this.name}/epoch/${epoch}`).permutation(this.count);
      if (this.cache.size >= 3) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(epoch, p);
    }
    return p;
  }

  take(start: number, n: number): Int32Array {
    const out = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const pos = start + k;
      const epoch = Math.floor(pos / this.count);
      out[k] = this.permutation(epoch)[pos - epoch * this.count]!;
    }
    return out;
  }
}

export interface SourceOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Applied per batch with generators derived from (seed, step, index); none when absent/null. */
  readonly augment?: AugmentSpec | null;
}

/** Which examples of each dataset the batch at a step holds (robust ones come first in the batch). */
export interface BatchPlan {
  readonly step: number;
  readonly epoch: number;
  readonly robust: Int32Array;
  readonly natural: Int32Array;
}

export class MixSource implements BatchSource {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly batchSize: number;
  readonly examplesPerEpoch: number;
  private readonly naturalStream: PermutedStream | null;
  private readonly robustStream: PermutedStream | null;

  constructor(
    readonly natural: ImageSet,
    readonly robust: ImageSet | null,
    readonly alpha: number,
    readonly options: SourceOptions,
    streamNames: { natural: string; robust: string } = { natural: 'D', robust: 'D_R' },
  ) {
    const B = options.batchSize;
    if (!Number.isInteger(B) || B <= 0) throw new Error(`batch size must be a positive integer, got ${B}`);
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`D_mix: alpha must lie in [0, 1], got ${alpha}`);
    if (alpha > 0 && !robust) throw new Error(`D_mix: alpha ${alpha} needs a D_R dataset`);
    if (robust) {
      for (const k of ['height', 'width', 'channels', 'numClasses'] as const) {
        if (robust[k] !== natural[k]) throw new Error(`D_mix: D has ${k} ${natural[k]} but D_R has ${robust[k]}`);
      }
    }
    this.height = natural.height;
    this.width = natural.width;
    this.channels = natural.channels;
    this.numClasses = natural.numClasses;
    this.batchSize = B;
    this.examplesPerEpoch = natural.count;
    this.naturalStream = alpha < 1 ? new PermutedStream(natural.count, options.seed, streamNames.natural) : null;
    this.robustStream = alpha > 0 && robust ? new PermutedStream(robust.count, options.seed, streamNames.robust) : null;
  }

  private robustShare(size: number): number {
    return Math.round(this.alpha * size);
  }

  /** Examples that one whole epoch takes from D_R and from D. */
  private perEpoch(): { robust: number; natural: number } {
    const B = this.batchSize;
    const N = this.examplesPerEpoch;
    const full = Math.floor(N / B);
    const last = N - full * B;
    const robust = full * this.robustShare(B) + this.robustShare(last);
    return { robust, natural: N - robust };
  }

  plan(step: number): BatchPlan {
    if (!Number.isInteger(step) || step < 0) throw new Error(`batch step must be a non-negative integer, got ${step}`);
    const B = this.batchSize;
    const steps = Math.ceil(this.examplesPerEpoch / B);
    const epoch = Math.floor(step / steps);
    const j = step - epoch * steps;
    const size = Math.min(B, this.examplesPerEpoch - j * B);
    const nR = this.robustShare(size);
    const per = this.perEpoch();
    const robustBefore = epoch * per.robust + j * this.robustShare(B);
    const naturalBefore = epoch * per.natural + j * (B - this.robustShare(B));
    return {
      step,
      epoch,
      robust: nR > 0 ? this.robustStream!.take(robustBefore, nR) : new Int32Array(0),
      natural: size - nR > 0 ? this.naturalStream!.take(naturalBefore, size - nR) : new Int32Array(0),
    };
  }

  batch(step: number): Batch {
    const p = this.plan(step);
    const size = p.robust.length + p.natural.length;
    const per = imageSize(this);
    const x = new Float32Array(size * per);
    const y = new Int32Array(size);
    if (p.robust.length > 0) {
      this.robust!.gather(p.robust, x.subarray(0, p.robust.length * per));
      p.robust.forEach((i, k) => (y[k] = this.robust!.labels[i]!));
    }
    if (p.natural.length > 0) {
      this.natural.gather(p.natural, x.subarray(p.robust.length * per));
      p.natural.forEach((i, k) => (y[p.robust.length + k] = this.natural.labels[i]!));
    }
    const spec = this.options.augment;
    if (!spec) return { x, y, size };
    const aug = augmentBatch(x, { n: size, height: this.height, width: this.width, channels: this.channels }, spec, this.options.seed, step);
    return { x: aug.x, y, size };
  }
}

/** Plain training on one dataset: epoch-wise seeded shuffles. */
export function datasetSource(set: ImageSet, options: SourceOptions & { readonly stream?: string }): MixSource {
  const name = options.stream ?? 'D';
  return new MixSource(set, null, 0, options, { natural: name, robust: `${name}/unused` });
}

/** D_mix(α): round(α·b) examples per batch from D_R, the rest from D; an epoch is |D| examples. */
export function mixSource(natural: ImageSet, robust: ImageSet, alpha: number, options: SourceOptions): MixSource {
  return new MixSource(natural, robust, alpha, options);
}

/** In-order batches for evaluation (no shuffling, no augmentation); the last may be short. */
export function* sequentialBatches(set: ImageSet, batchSize: number): Generator<Batch & { readonly indices: Int32Array }> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const indices = Int32Array.from({ length: n }, (_, k) => start + k);
    yield { x: set.gather(indices), y: Int32Array.from(indices, (i) => set.labels[i]!), size: n, indices };
  }
}
