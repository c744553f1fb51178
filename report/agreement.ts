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
 * A success rate is over the images the model gets right, which a retrained model need not share:
 * its two sides may count over n_A ≠ n_B images, and the bound becomes
 * z·√(p (1 − p) (1/n_A + 1/n_B)) + 1/min(n_A, n_B) (the same formula when n_A = n_B). Where one side
 * gets no image right its success rate is undefined: that is reported, and the natural accuracy
 * beside it is what is judged. Every other proportion counts over images fixed by the data, so a
 * differing count there means the two sides ran other code, and fails.
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

/** The largest allowed |a − b| for two proportions over n and nB images (see the module comment). */
export function proportionTolerance(a: number, b: number, n: number, relation: InputRelation, nB: number = n): number {
  const unit = 1 / Math.min(n, nB);
  if (relation === 'same-inputs') return unit;
  const p = (n * a + nB * b) / (n + nB);
  return AGREEMENT_Z * Math.sqrt(p * (1 - p) * (1 / n + 1 / nB)) + unit;
}

/** The one proportion whose images depend on the model: a success rate, over the naturally right images. */
const MODEL_DEPENDENT_COUNT = 'asr';

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
  return scanProportions(result).defined;
}

/** The proportions of a result, and the paths of those it leaves undefined (a success rate where no image was naturally right). */
function scanProportions(result: unknown): { defined: Proportion[]; undefined: string[] } {
  const out: Proportion[] = [];
  const empty: string[] = [];
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
      if (key === MODEL_DEPENDENT_COUNT && value === null && isCount(count)) empty.push(at);
      else if (typeof value !== 'number') walk(value, at);
      else if (isCount(count) && PROPORTION_KEY.test(key) && value >= 0 && value <= 1) {
        const n = imagesOf(obj, key, count);
        if (n > 0) out.push({ path: at, value, n });
        else if (key === MODEL_DEPENDENT_COUNT) empty.push(at);
      }
    }
  };
  walk(result, '');
  return { defined: out, undefined: empty };
}

export interface FigureVerdict {
  readonly path: string;
  readonly a: number;
  readonly b: number;
  /** Images behind a and behind b (they differ only for a success rate). */
  readonly n: number;
  readonly nB: number;
  readonly tolerance: number;
  readonly within: boolean;
}

export interface NodeAgreement {
  readonly node: string;
  readonly relation: InputRelation;
  /** Every shared proportion; identical ones included. */
  readonly figures: readonly FigureVerdict[];
  /** Proportions only one side has, or over other counts where the data fix them (a result written by other code). */
  readonly unmatched: readonly string[];
  /** Success rates one side leaves undefined (no image naturally right there): reported, not judged. */
  readonly undefinedOnOneSide: readonly string[];
}

export function compareResults(node: string, a: unknown, b: unknown, relation: InputRelation): NodeAgreement {
  const sa = scanProportions(a);
  const sb = scanProportions(b);
  const pa = new Map(sa.defined.map((p) => [p.path, p]));
  const pb = new Map(sb.defined.map((p) => [p.path, p]));
  const emptyA = new Set(sa.undefined);
  const emptyB = new Set(sb.undefined);
  const figures: FigureVerdict[] = [];
  const unmatched: string[] = [];
  const undefinedOnOneSide: string[] = [];
  const lastKey = (path: string) => path.slice(path.lastIndexOf('.') + 1);
  for (const [path, x] of pa) {
    const y = pb.get(path);
    if (!y) {
      (emptyB.has(path) ? undefinedOnOneSide : unmatched).push(path);
      continue;
    }
    if (y.n !== x.n && lastKey(path) !== MODEL_DEPENDENT_COUNT) {
      unmatched.push(path);
      continue;
    }
    const tolerance = proportionTolerance(x.value, y.value, x.n, relation, y.n);
    // A hair of slack: proportions are stored as k/n in decimal, so |a − b| can exceed j/n by 1e-15.
    figures.push({ path, a: x.value, b: y.value, n: x.n, nB: y.n, tolerance, within: Math.abs(x.value - y.value) <= tolerance + 1e-12 });
  }
  for (const path of pb.keys()) if (!pa.has(path)) (emptyA.has(path) ? undefinedOnOneSide : unmatched).push(path);
  return { node, relation, figures, unmatched, undefinedOnOneSide };
}

export interface AgreementSummary {
  readonly nodes: number;
  readonly identical: number;
  readonly withinTolerance: number;
  readonly outside: readonly NodeAgreement[];
}

export function summarise(results: readonly NodeAgreement[]): AgreementSummary {
  const outside = results.filter((r) => r.figures.some((f) => !f.within) || r.unmatched.length > 0);
  const identical = results.filter((r) => r.unmatched.length === 0 && r.undefinedOnOneSide.length === 0 && r.figures.every((f) => f.a === f.b)).length;
  return { nodes: results.length, identical, withinTolerance: results.length - outside.length - identical, outside };
}
