/**
 * What a built D_R or D_NR actually carries, read off its images with the synthetic set's
 * closed-form probes: the robust class is the best-correlated centred robust template
 * (`robustScores`), the non-robust class the largest projection on the p_k (`nonRobustScores`,
 * exact for additive patterns since the p_k are orthogonal). No model is involved.
 *
 * An ideal D_R (Ilyas et al.) keeps the label's robust pattern and the non-robust pattern of its
 * start image x′: robust = label ≈ 100 %, non-robust = label ≈ chance, non-robust = x′'s ≈ 100 %.
 * An ideal D_NR is the mirror image: the robust pattern of the source image, the target's
 * non-robust pattern. The probes' own accuracy on the base set, where the truth is recorded,
 * bounds what they can read (`readoutAccuracy`).
 */
import type { ImageSet } from '../data/image-set.ts';
import { imageSize } from '../data/image-set.ts';
import { argmax, nonRobustScores, robustScores, type SyntheticBank } from '../data/synthetic.ts';

export interface FeatureReadout {
  readonly robust: Uint8Array;
  readonly nonRobust: Uint8Array;
  /** s_k = <x, p_k> / ||p_k||², row-major [n, numClasses]: about 1 where p_k is planted. */
  readonly nonRobustScore: Float64Array;
}

/** The robust and non-robust class each image of `set` (or of `indices`) shows. */
export function readFeatures(bank: SyntheticBank, set: ImageSet, indices?: ArrayLike<number>): FeatureReadout {
  const idx = indices ?? Array.from({ length: set.count }, (_, i) => i);
  const K = bank.params.numClasses;
  const stride = imageSize(set);
  if (stride !== bank.nonRobust[0]!.length)
    throw new Error(`readFeatures: images of ${stride} values do not match the synthetic bank's ${bank.nonRobust[0]!.length}`);
  const n = idx.length;
  const robust = new Uint8Array(n);
  const nonRobust = new Uint8Array(n);
  const nonRobustScore = new Float64Array(n * K);
  const chunk = 256;
  for (let from = 0; from < n; from += chunk) {
    const part = Array.from({ length: Math.min(chunk, n - from) }, (_, j) => idx[from + j]!);
    const pixels = set.gather(part);
    for (let j = 0; j < part.length; j++) {
      const x = pixels.subarray(j * stride, (j + 1) * stride);
      robust[from + j] = argmax(robustScores(bank, x));
      const s = nonRobustScores(bank, x);
      nonRobust[from + j] = argmax(s);
      nonRobustScore.set(s, (from + j) * K);
    }
  }
  return { robust, nonRobust, nonRobustScore };
}

export interface BuiltSetQuality {
  readonly count: number;
  /** Shares (fractions) of images whose robust / non-robust readout is the stored label. */
  readonly robustIsLabel: number;
  readonly nonRobustIsLabel: number;
  /** Shares whose readout is the source image's (D_R: the start image x′; D_NR: the attacked x). */
  readonly robustIsSource: number;
  readonly nonRobustIsSource: number;
  /** Share whose label and source non-robust class coincide (the chance level of nonRobustIsLabel for D_R). */
  readonly labelIsSource: number;
  /** Mean s_label and s_source: how much of the planted pattern (1 = all of it) survives. */
  readonly meanNonRobustScoreLabel: number;
  readonly meanNonRobustScoreSource: number;
}

/**
 * Scores built images against what they should carry. `source.robustClass` / `source.nonRobustClass`:
 * per built image, the classes the source image showed (its recorded robust class; its label,
 * which its p always is).
 */
export function builtSetQuality(
  readout: FeatureReadout,
  labels: ArrayLike<number>,
  source: { readonly robustClass: ArrayLike<number>; readonly nonRobustClass: ArrayLike<number> },
): BuiltSetQuality {
  const n = readout.robust.length;
  if (labels.length !== n || source.robustClass.length !== n || source.nonRobustClass.length !== n) {
    throw new Error(`builtSetQuality: ${n} readouts but ${labels.length} labels, ${source.robustClass.length}/${source.nonRobustClass.length} source classes`);
  }
  const K = readout.nonRobustScore.length / Math.max(1, n);
  let rl = 0,
    nl = 0,
    rs = 0,
    ns = 0,
    ls = 0,
    sl = 0,
    ss = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const sr = source.robustClass[i]!;
    const sn = source.nonRobustClass[i]!;
    if (readout.robust[i] === y) rl++;
    if (readout.nonRobust[i] === y) nl++;
    if (readout.robust[i] === sr) rs++;
    if (readout.nonRobust[i] === sn) ns++;
    if (y === sn) ls++;
    sl += readout.nonRobustScore[i * K + y]!;
    ss += readout.nonRobustScore[i * K + sn]!;
  }
  const f = (k: number) => (n === 0 ? 0 : k / n);
  return {
    count: n,
    robustIsLabel: f(rl),
    nonRobustIsLabel: f(nl),
    robustIsSource: f(rs),
    nonRobustIsSource: f(ns),
    labelIsSource: f(ls),
    meanNonRobustScoreLabel: f(sl),
    meanNonRobustScoreSource: f(ss),
  };
}

/** The probes' accuracy where the truth is recorded: robust readout vs robust class, non-robust vs label. */
export function readoutAccuracy(readout: FeatureReadout, labels: ArrayLike<number>, robustClass: ArrayLike<number>): { robust: number; nonRobust: number } {
  const n = readout.robust.length;
  let r = 0;
  let nr = 0;
  for (let i = 0; i < n; i++) {
    if (readout.robust[i] === robustClass[i]) r++;
    if (readout.nonRobust[i] === labels[i]) nr++;
  }
  return { robust: n ? r / n : 0, nonRobust: n ? nr / n : 0 };
}

export interface BuiltSetReport {
  readonly construction: string;
  readonly quality: BuiltSetQuality;
  /** The probes' accuracy on the base images the set was built from (its ceiling). */
  readonly readout: { readonly robust: number; readonly nonRobust: number };
}

function baseReadout(bank: SyntheticBank, base: ImageSet, baseRobustClass: Uint8Array, rows: ArrayLike<number>) {
  const r = readFeatures(bank, base, rows);
  return readoutAccuracy(
    r,
    Array.from(rows, (i) => base.labels[i]!),
    Array.from(rows, (i) => baseRobustClass[i]!),
  );
}

function checkAligned(built: ImageSet, base: ImageSet, rows: ArrayLike<number>, who: string): void {
  if (rows.length !== built.count) throw new Error(`${who}: ${rows.length} recorded source images for ${built.count} built images`);
  for (let i = 0; i < rows.length; i++) {
    if (!(Number.isInteger(rows[i]) && rows[i]! >= 0 && rows[i]! < base.count))
      throw new Error(`${who}: source index ${rows[i]} outside the base set of ${base.count}`);
  }
}

/**
 * D_R: image i was built for base example baseIndices[i] (whose label it keeps) from the start
 * image sourceIndices[i]; `source` is that start image x′.
 */
export function drQuality(
  bank: SyntheticBank,
  dr: ImageSet,
  base: ImageSet,
  baseRobustClass: Uint8Array,
  recorded: { readonly baseIndices: ArrayLike<number>; readonly sourceIndices: ArrayLike<number> },
): BuiltSetReport {
  checkAligned(dr, base, recorded.baseIndices, 'D_R quality');
  checkAligned(dr, base, recorded.sourceIndices, 'D_R quality');
  for (let i = 0; i < dr.count; i++) {
    if (dr.labels[i] !== base.labels[recorded.baseIndices[i]!])
      throw new Error(
        `D_R quality: image ${i} is labelled ${dr.labels[i]}, its base example ${recorded.baseIndices[i]} ${base.labels[recorded.baseIndices[i]!]}: the recorded indices do not belong to this set`,
      );
  }
  const src = Array.from(recorded.sourceIndices);
  const quality = builtSetQuality(readFeatures(bank, dr), dr.labels, {
    robustClass: src.map((j) => baseRobustClass[j]!),
    nonRobustClass: src.map((j) => base.labels[j]!),
  });
  return { construction: 'D_R', quality, readout: baseReadout(bank, base, baseRobustClass, recorded.baseIndices) };
}

/** D_NR: image i is base example baseIndices[i] pushed toward its stored label; `source` is that example. */
export function dnrQuality(
  bank: SyntheticBank,
  dnr: ImageSet,
  base: ImageSet,
  baseRobustClass: Uint8Array,
  baseIndices: ArrayLike<number>,
  construction: string,
): BuiltSetReport {
  checkAligned(dnr, base, baseIndices, `${construction} quality`);
  const rows = Array.from(baseIndices);
  const quality = builtSetQuality(readFeatures(bank, dnr), dnr.labels, {
    robustClass: rows.map((j) => baseRobustClass[j]!),
    nonRobustClass: rows.map((j) => base.labels[j]!),
  });
  return { construction, quality, readout: baseReadout(bank, base, baseRobustClass, rows) };
}
