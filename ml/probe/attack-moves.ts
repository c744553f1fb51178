/**
 * What an attack's successful adversarial examples changed, read off with the synthetic set's
 * closed-form probes (as built-set-quality.ts reads built datasets): for every image the attack
 * broke (right untouched, wrong after), whether the adversarial image now carries the non-robust
 * pattern of the class it is predicted as (argmax of the s_k), shows that class's robust pattern
 * (best-correlated robust template), both or neither, and how much of that class's non-robust
 * pattern was planted (s_pred after minus before: 1 = all of it). In a world where standard
 * models lean on the non-robust feature, small attacks should move it and not the robust one.
 */
import { argmax, nonRobustScores, robustScores, syntheticBankFromMeta, type SyntheticBank } from '../data/synthetic.ts';

export interface AttackMoves {
  /** Images the attack broke (right untouched, wrong after). */
  readonly broken: number;
  /** Of those, how many carry the predicted class's non-robust pattern / show its robust pattern. */
  readonly nonRobustToPrediction: number;
  readonly robustToPrediction: number;
  /** Neither readout is the predicted class. */
  readonly neither: number;
  /** Mean over broken images of s_pred(adversarial) - s_pred(untouched). */
  readonly meanPlanted: number;
}

/** Accumulates AttackMoves over batches of broken images. */
export class AttackMovesCounter {
  private broken = 0;
  private nonRobust = 0;
  private robust = 0;
  private neither = 0;
  private planted = 0;
  constructor(private readonly bank: SyntheticBank) {}

  /** `clean` and `adversarial`: the broken images, `stride` values each; `predicted`: their classes after the attack. */
  add(clean: Float32Array, adversarial: Float32Array, predicted: ArrayLike<number>, stride: number): void {
    const n = predicted.length;
    if (clean.length !== n * stride || adversarial.length !== n * stride) {
      throw new Error(`AttackMovesCounter: ${n} predictions for ${clean.length / stride} / ${adversarial.length / stride} images`);
    }
    for (let i = 0; i < n; i++) {
      const x = clean.subarray(i * stride, (i + 1) * stride);
      const a = adversarial.subarray(i * stride, (i + 1) * stride);
      const j = predicted[i]!;
      const s = nonRobustScores(this.bank, a);
      const nr = argmax(s) === j;
      const r = argmax(robustScores(this.bank, a)) === j;
      this.broken++;
      if (nr) this.nonRobust++;
      if (r) this.robust++;
      if (!nr && !r) this.neither++;
      this.planted += s[j]! - nonRobustScores(this.bank, x)[j]!;
    }
  }

  result(): AttackMoves {
    return {
      broken: this.broken,
      nonRobustToPrediction: this.nonRobust,
      robustToPrediction: this.robust,
      neither: this.neither,
      meanPlanted: this.broken ? this.planted / this.broken : 0,
    };
  }
}

/** A counter for a dataset whose metadata names a synthetic planted-feature set, else undefined. */
export function attackMovesCounterFor(meta: Readonly<Record<string, unknown>>): AttackMovesCounter | undefined {
  return meta['dataset'] === 'synthetic planted-feature' ? new AttackMovesCounter(syntheticBankFromMeta(meta)) : undefined;
}
