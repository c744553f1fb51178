/**
 * Test subsets (the demo profile evaluates on a few hundred images): which examples to keep, a
 * view over them, and writing them as a dataset artifact of their own.
 */
import { Rng } from '../random.ts';
import { DatasetWriter, StoredImageSet, type DatasetHeader, type DatasetMeta } from './dataset-file.ts';
import { imageSize, type ImageSet } from './image-set.ts';

export type SubsetSpec =
  | { readonly kind: 'first'; readonly n: number }
  /** n examples, classes as balanced as their sizes allow, chosen at random from `seed`. */
  | { readonly kind: 'stratified'; readonly n: number; readonly seed: number };

/** Sorted example indices selected by `spec` from a set with these labels. */
export function selectSubset(labels: ArrayLike<number>, numClasses: number, spec: SubsetSpec): Int32Array {
  const total = labels.length;
  if (!Number.isInteger(spec.n) || spec.n < 0 || spec.n > total) {
    throw new Error(`subset: asked for ${spec.n} examples of a set of ${total}`);
  }
  if (spec.kind === 'first') return Int32Array.from({ length: spec.n }, (_, i) => i);
  const rng = Rng.derive(spec.seed, 'stratified-subset');
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < total; i++) byClass[labels[i]!]!.push(i);
  for (const list of byClass) rng.shuffle(list);
  // Round-robin over classes in a seeded order: balanced, and a class that runs out leaves its
  // share to the others.
  const order = rng.permutation(numClasses);
  const picked: number[] = [];
  const taken = new Array<number>(numClasses).fill(0);
  while (picked.length < spec.n) {
    for (const c of order) {
      if (picked.length === spec.n) break;
      const list = byClass[c]!;
      if (taken[c]! < list.length) picked.push(list[taken[c]!++]!);
    }
  }
  return Int32Array.from(picked).sort();
}

/** An ImageSet over examples `indices` of `set` (no copy). */
export function subsetView(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const idx = Int32Array.from(indices as ArrayLike<number>);
  for (const i of idx) if (i < 0 || i >= set.count) throw new Error(`subset: index ${i} outside 0..${set.count - 1}`);
  const labels = Uint8Array.from(idx, (i) => set.labels[i]!);
  return {
    count: idx.length,
    height: set.height,
    width: set.width,
    channels: set.channels,
    numClasses: set.numClasses,
    labels,
    gather(which: ArrayLike<number>, out?: Float32Array): Float32Array {
      return set.gather(
        Array.from(which as ArrayLike<number>, (j) => {
          if (!Number.isInteger(j) || j < 0 || j >= idx.length) throw new Error(`gather: index ${j} outside 0..${idx.length - 1}`);
          return idx[j]!;
        }),
        out,
      );
    },
  };
}

/**
 * Writes examples `indices` of `set` as a dataset artifact. A stored set keeps its storage type
 * (uint8 CIFAR stays exact bytes); any other ImageSet is written as float32.
 */
export function writeSubset(path: string, set: ImageSet, indices: ArrayLike<number>, meta: DatasetMeta = {}): DatasetHeader {
  const stored = set instanceof StoredImageSet ? set : undefined;
  const writer = new DatasetWriter(path, {
    count: indices.length,
    height: set.height,
    width: set.width,
    channels: set.channels,
    numClasses: set.numClasses,
    dtype: stored?.dtype ?? 'float32',
    classNames: stored?.classNames,
    meta: { ...(stored?.meta ?? {}), ...meta },
  });
  try {
    const size = imageSize(set);
    const chunk = 256;
    for (let start = 0; start < indices.length; start += chunk) {
      const ids = Array.from({ length: Math.min(chunk, indices.length - start) }, (_, k) => indices[start + k]!);
      const labels = ids.map((i) => set.labels[i]!);
      if (stored) {
        const out = stored.dtype === 'uint8' ? new Uint8Array(ids.length * size) : new Float32Array(ids.length * size);
        ids.forEach((i, k) => out.set(stored.raw(i), k * size));
        writer.append(out, labels);
      } else {
        writer.append(set.gather(ids), labels);
      }
    }
  } catch (err) {
    writer.abort();
    throw err;
  }
  return writer.close();
}
