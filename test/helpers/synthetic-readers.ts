// Linear readers of the synthetic world's features, for the probe tests (not a test file itself).
import { renderRobust, type SyntheticBank } from '../../ml/data/synthetic.ts';
import { LinearClassifier } from '../attacks-helpers.ts';

const S = 32 * 32 * 3;
const K = 10;

/** logits_k = <x, w_k>: the columns of a [S, K] matrix, no bias. */
export function linearFromColumns(columns: readonly Float32Array[]): LinearClassifier {
  const w = new Float32Array(S * K);
  columns.forEach((c, k) => c.forEach((v, i) => (w[i * K + k] = v)));
  return new LinearClassifier(K, w, new Float32Array(K));
}

/** Centred, unit-norm robust templates: the robust-feature reader of robustScores as a linear model's columns. */
export function robustTemplates(bank: SyntheticBank): Float32Array[] {
  return Array.from({ length: K }, (_, k) => {
    const t = renderRobust(bank, k, { dx: 0, dy: 0, angleDeg: 0, scale: 1 });
    const mean = t.reduce((s, v) => s + v, 0) / t.length;
    const norm = Math.sqrt(t.reduce((s, v) => s + (v - mean) ** 2, 0));
    return t.map((v) => (v - mean) / norm);
  });
}
