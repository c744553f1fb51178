/**
 * Whether two runs of the same graph on different backends agree, node by node, within a stated
 * tolerance (docs/gpu.md, "How close two backends' evaluations must be").
 *
 * Every proportion in an evaluation, probe or dataset-quality result (an accuracy, a share, an
 * agreement, counted over the `count` images of its object; a success rate over the naturally
 * right ones) is compared:
 * - **same inputs** (the node read identical model and dataset bytes on both sides): the two
 *   backends sum in other orders, so an image whose decision margin is below float32 rounding may
 *   flip; at most one image's worth, 1/n, is allowed.
 * - **retrained inputs** (a model trained separately on each backend, so its bytes differ): two
 *   training runs that differ only in float rounding diverge like two seeds, and each measured
 *   accuracy is a sample of n images. If both backends train models of the same accuracy p, the
 *   difference of the two measured proportions has a standard deviation of at most
 *   √(2 p (1 − p) / n) (independent samples; the shared test images only make it smaller). The
 *   bound is that times z = 3 (a two-sided 0.3 % false-alarm rate per figure), plus 1/n for
 *   the discreteness of counts, with p pooled from both sides.
 * Means (perturbation norms, scores) are reported but not bounded: nothing here says how much a
 * retrained model's mean norm may move.
 */

export const AGREEMENT_Z = 3;

export type InputRelation = 'same-inputs' | 'retrained';

export interface Proportion {
  /** Dotted path inside the result, e.g. `robustAccuracy` or `conflict.followsNonRobust`. */
  readonly path: string;
  readonly value: number;
  /** Images the proportion is counted over. */
  readonly n: number;
}

/** The largest allowed |a − b| for two proportions over n images (see the module comment). */
export function proportionTolerance(a: number, b: number, n: number, relation: InputRelation): number {
  const unit = 1 / n;
  if (relation === 'same-inputs') return unit;
  const p = (a + b) / 2;
  return AGREEMENT_Z * Math.sqrt((2 * p * (1 - p)) / n) + unit;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Keys whose values are shares of images: accuracies, success rates, a probe's follows/neither
 * shares, a built set's `…Is…` agreements. Counts beside them (fooled, naturalCorrect, label,
 * broken) are integers that can be 0 or 1 and must not pass for proportions.
 */
const PROPORTION_KEY = /^(naturalAccuracy|robustAccuracy|accuracy|asr|follows[A-Za-z]*|neither|[a-z][A-Za-z]*Is[A-Z][A-Za-z]*)$/;

/** Images a proportion of `obj` is counted over: its `count`, except a success rate (naturally right ones). */
function imagesOf(obj: Readonly<Record<string, unknown>>, key: string, count: number): number {
  if (key !== 'asr') return count;
  const right = obj['naturalCorrect'];
  if (typeof right === 'number' && Number.isInteger(right)) return right;
  const natural = obj['naturalAccuracy'];
  return typeof natural === 'number' ? Math.round(natural * count) : count;
}

/**
 * The proportions of a result file: the values of proportion keys in objects that carry their own
 * positive integer `count` (so a sub-object of counts, such as an attack's `moved` tally, or a class
 * with no images, contributes none).
 */
export function proportionsOf(result: unknown): Proportion[] {
  const out: Proportion[] = [];
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const obj = v as Record<string, unknown>;
    const count = obj['count'];
    for (const [key, value] of Object.entries(obj)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (typeof value !== 'number') walk(value, at);
      else if (isCount(count) && PROPORTION_KEY.test(key) && value >= 0 && value <= 1) {
        const n = imagesOf(obj, key, count);
        if (n > 0) out.push({ path: at, value, n });
      }
    }
  };
  walk(result, '');
  return out;
}

export interface FigureVerdict {
  readonly path: string;
  readonly a: number;
  readonly b: number;
  readonly n: number;
  readonly tolerance: number;
  readonly within: boolean;
}

export interface NodeAgreement {
  readonly node: string;
  readonly relation: InputRelation;
  /** Every shared proportion; identical ones included. */
  readonly figures: readonly FigureVerdict[];
  /** Proportions only one side has (a result written by other code). */
  readonly unmatched: readonly string[];
}

export function compareResults(node: string, a: unknown, b: unknown, relation: InputRelation): NodeAgreement {
  const pa = new Map(proportionsOf(a).map((p) => [p.path, p]));
  const pb = new Map(proportionsOf(b).map((p) => [p.path, p]));
  const figures: FigureVerdict[] = [];
  const unmatched: string[] = [];
  for (const [path, x] of pa) {
    const y = pb.get(path);
    if (!y || y.n !== x.n) {
      unmatched.push(path);
      continue;
    }
    const tolerance = proportionTolerance(x.value, y.value, x.n, relation);
    // A hair of slack: proportions are stored as k/n in decimal, so |a − b| can exceed j/n by 1e-15.
    figures.push({ path, a: x.value, b: y.value, n: x.n, tolerance, within: Math.abs(x.value - y.value) <= tolerance + 1e-12 });
  }
  for (const path of pb.keys()) if (!pa.has(path)) unmatched.push(path);
  return { node, relation, figures, unmatched };
}

export interface AgreementSummary {
  readonly nodes: number;
  readonly identical: number;
  readonly withinTolerance: number;
  readonly outside: readonly NodeAgreement[];
}

export function summarise(results: readonly NodeAgreement[]): AgreementSummary {
  const outside = results.filter((r) => r.figures.some((f) => !f.within) || r.unmatched.length > 0);
  const identical = results.filter((r) => r.unmatched.length === 0 && r.figures.every((f) => f.a === f.b)).length;
  return { nodes: results.length, identical, withinTolerance: results.length - outside.length - identical, outside };
}
