import { Rng } from '../random.ts';

/**
 * Which examples of a set of `total` an evaluation uses: all of them when `count` is absent or not
 * smaller than `total`, otherwise `count` drawn without replacement with a seeded generator, in
 * ascending order (so the subset of a profile is fixed by its seed).
 */
export function selectSubset(total: number, count?: number, seed = 0): Int32Array {
  if (!(Number.isInteger(total) && total >= 0)) throw new Error(`selectSubset: bad total ${total}`);
  if (count === undefined || count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  if (!(Number.isInteger(count) && count >= 0)) throw new Error(`selectSubset: bad count ${count}`);
  return Rng.derive(seed, 'evaluation-subset').permutation(total).subarray(0, count).sort();
}
