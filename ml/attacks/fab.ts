import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';

/**
 * FAB-T, the targeted fast adaptive boundary attack (docs/attacks.md): it looks for the smallest
 * perturbation that changes the class. Each step linearises the boundary between the true class y
 * and the target t at the current point, projects both the current point and the original image
 * onto that hyperplane (intersected with the [0, 1] box) and moves to a mix of the two projections,
 * overshooting a little; once misclassified it steps back toward the original image and goes on.
 *
 * As AutoAttack uses it, an image counts as broken only by a point inside the eps-ball; an image
 * stops at the first such point (AutoAttack needs no smaller one), and one that never finds it gets
 * its untouched image back, so the result never leaves the ball.
 */
export interface FabOptions {
  readonly norm: 'l2' | 'linf';
  readonly eps: number;
  /** Steps (each one forward and one input-gradient pass of the logit difference). */
  readonly iterations: number;
  /** The target class per image (int32 [N]). */
  readonly targets: tf.Tensor1D;
  /** Largest weight of the original image's projection in a step (the paper's alpha_max). */
  readonly alphaMax?: number;
  /** Overshoot of each projection (the paper's eta). */
  readonly eta?: number;
  /** Step back toward the original image after a success (the paper's beta). */
  readonly beta?: number;
}

export interface FabResult {
  /** Per image: an adversarial example inside the ball where `fooled`, else the untouched image. */
  readonly adversarial: tf.Tensor4D;
  readonly fooled: Uint8Array;
  /** Per image, the norm of the smallest adversarial perturbation found (Infinity if none). */
  readonly distance: Float32Array;
}

export function validateFabOptions(o: FabOptions, numClasses: number): void {
  const bad = (what: string) => {
    throw new Error(`FAB: ${what} (norm=${o.norm}, eps=${o.eps}, iterations=${o.iterations})`);
  };
  if (o.norm !== 'l2' && o.norm !== 'linf') bad(`unknown norm '${String(o.norm)}'`);
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) bad('eps must be a finite number >= 0');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) bad('iterations must be an integer >= 1');
  if (numClasses < 2) bad(`needs at least 2 classes, the model has ${numClasses}`);
  const [alphaMax, eta, beta] = [o.alphaMax ?? 0.1, o.eta ?? 1.05, o.beta ?? 0.9];
  if (!(alphaMax >= 0 && alphaMax <= 1)) bad(`alphaMax ${alphaMax} outside [0, 1]`);
  if (!(eta >= 1)) bad(`eta ${eta} below 1`);
  if (!(beta > 0 && beta < 1)) bad(`beta ${beta} outside (0, 1)`);
}

/**
 * The smallest perturbation d (in `norm`) with w . (p + d) = b and p + d in [0, 1]^D, written into
 * `d`; where the hyperplane misses the box, the point of the box closest to it along the same path.
 *
 * Along the optimal path each coordinate moves at a rate fixed by w until it reaches the box, so
 * w . d as a function of the path's parameter t is sum_i a_i min(t, k_i): piecewise linear and
 * increasing. L2: d_i = t s w_i (a_i = w_i^2, k_i = room_i / |w_i|); L-inf: d_i = t s sign(w_i)
 * (a_i = |w_i|, k_i = room_i), s the side the hyperplane is on and room_i the distance to the box
 * in that direction. The breakpoints k_i are sorted and the segment holding the target value found
 * by bisection, then solved exactly.
 */
export function projectOntoHyperplaneInBox(norm: 'l2' | 'linf', p: ArrayLike<number>, w: ArrayLike<number>, b: number, d: Float64Array): void {
  const n = p.length;
  let c = b;
  for (let i = 0; i < n; i++) c -= w[i]! * p[i]!;
  d.fill(0);
  if (c === 0) return;
  const s = c > 0 ? 1 : -1;
  const target = Math.abs(c);
  const a = new Float64Array(n);
  const k = new Float64Array(n);
  let total = 0;
  let reachable = 0;
  let minK = Infinity;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const room = s * wi > 0 ? 1 - p[i]! : p[i]!;
    a[i] = norm === 'l2' ? wi * wi : Math.abs(wi);
    k[i] = norm === 'l2' ? room / Math.abs(wi) : room;
    total += a[i]!;
    reachable += a[i]! * k[i]!;
    if (k[i]! < minK) minK = k[i]!;
  }
  if (total === 0) return;
  let t: number;
  if (target / total <= minK) {
    // No coordinate reaches the box: the plain projection.
    t = target / total;
  } else if (target >= reachable) {
    t = Infinity;
  } else {
    // G(t) = sum a_i min(t, k_i); find the first sorted breakpoint where G reaches the target.
    const sorted = k.slice().sort();
    const g = (tt: number) => {
      let v = 0;
      for (let i = 0; i < n; i++) v += a[i]! * Math.min(tt, k[i]!);
      return v;
    };
    let [lo, hi] = [0, n - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (g(sorted[mid]!) >= target) hi = mid;
      else lo = mid + 1;
    }
    // On (sorted[lo - 1], sorted[lo]] G(t) = S t + C: S over the coordinates still moving, C over those at the box.
    const edge = sorted[lo]!;
    let slope = 0;
    let base = 0;
    for (let i = 0; i < n; i++) {
      if (k[i]! >= edge) slope += a[i]!;
      else base += a[i]! * k[i]!;
    }
    t = (target - base) / slope;
  }
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const rate = norm === 'l2' ? s * wi : s * Math.sign(wi);
    const move = t === Infinity ? rate * Infinity : rate * t;
    d[i] = Math.min(Math.max(move, -p[i]!), 1 - p[i]!);
  }
}

function normOf(norm: 'l2' | 'linf', v: ArrayLike<number>, from = 0, to = v.length): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = v[i]!;
    s = norm === 'l2' ? s + x * x : Math.max(s, Math.abs(x));
  }
  return norm === 'l2' ? Math.sqrt(s) : s;
}

/**
 * FAB-T on one batch: `labels` the true classes, `options.targets` the target per image. Success is
 * misclassification (arg max != label) inside the eps-ball. The caller owns `x0`, `labels` and the
 * targets and must dispose `adversarial`.
 */
export function fabBatch(model: Classifier, x0: tf.Tensor4D, labels: tf.Tensor1D, options: FabOptions): FabResult {
  validateFabOptions(options, model.numClasses);
  const o = { alphaMax: 0.1, eta: 1.05, beta: 0.9, ...options };
  const [n, h, wd, ch] = x0.shape;
  const size = h * wd * ch;
  if (labels.shape[0] !== n || o.targets.shape[0] !== n) throw new Error(`FAB: ${labels.shape[0]} labels and ${o.targets.shape[0]} targets for ${n} images`);
  const y = Int32Array.from(labels.dataSync());
  const t = Int32Array.from(o.targets.dataSync());
  for (let i = 0; i < n; i++) if (t[i] === y[i]) throw new Error(`FAB: image ${i}'s target is its own class ${y[i]}`);
  const orig = Float32Array.from(x0.dataSync());
  const k = model.numClasses;

  // Logit difference f_t - f_y, its input gradient and the predicted class, at the rows `rows` of `x`.
  const probe = (x: Float32Array, rows: readonly number[]) => {
    const m = rows.length;
    const pixels = new Float32Array(m * size);
    rows.forEach((r, q) => pixels.set(x.subarray(r * size, (r + 1) * size), q * size));
    const yt = tf.tensor1d(
      Int32Array.from(rows, (r) => y[r]!),
      'int32',
    );
    const tt = tf.tensor1d(
      Int32Array.from(rows, (r) => t[r]!),
      'int32',
    );
    let z: Float32Array = new Float32Array(0);
    const { value, grad } = tf.tidy(() =>
      tf.valueAndGrad((xi: tf.Tensor4D) => {
        const logits = model.logits(xi, 'eval');
        z = logits.dataSync() as Float32Array;
        const diff = tf.sub(tf.sum(tf.mul(logits, tf.oneHot(tt, k)), 1), tf.sum(tf.mul(logits, tf.oneHot(yt, k)), 1));
        return tf.sum(diff) as tf.Scalar;
      })(tf.tensor4d(pixels, [m, h, wd, ch])),
    );
    value.dispose();
    const g = Float32Array.from(grad.dataSync());
    grad.dispose();
    tf.dispose([yt, tt]);
    const df = new Float64Array(m);
    const wrong = new Uint8Array(m);
    rows.forEach((r, q) => {
      df[q] = z[q * k + t[r]!]! - z[q * k + y[r]!]!;
      let arg = 0;
      for (let j = 1; j < k; j++) if (z[q * k + j]! > z[q * k + arg]!) arg = j;
      wrong[q] = arg !== y[r] ? 1 : 0;
    });
    return { df, g, wrong };
  };

  const x = orig.slice();
  const adversarial = orig.slice();
  const fooled = new Uint8Array(n);
  const distance = new Float32Array(n).fill(Infinity);
  let active = [...fooled.keys()];
  const d1 = new Float64Array(size);
  const d2 = new Float64Array(size);
  const w = new Float64Array(size);
  const delta = new Float64Array(size);

  // A misclassified iterate: kept if it is the smallest so far; inside the ball the image is done,
  // otherwise it steps back toward the original image. Returns the rows still at work.
  const settle = (rows: number[], wrong: Uint8Array): { rows: number[]; back: number[] } => {
    const back: number[] = [];
    const stay: number[] = [];
    rows.forEach((r, q) => {
      if (!wrong[q]) {
        stay.push(r);
        return;
      }
      const base = r * size;
      for (let p = 0; p < size; p++) delta[p] = x[base + p]! - orig[base + p]!;
      const dist = normOf(o.norm, delta);
      if (dist < distance[r]!) {
        distance[r] = dist;
        adversarial.set(x.subarray(base, base + size), base);
      }
      if (distance[r]! <= o.eps) {
        fooled[r] = 1;
        return;
      }
      for (let p = 0; p < size; p++) x[base + p] = orig[base + p]! + delta[p]! * o.beta;
      stay.push(r);
      back.push(r);
    });
    return { rows: stay, back };
  };

  // The probe of each active row: its logit difference, gradient and class at the current point.
  type Probe = ReturnType<typeof probe>;
  const rowsOf = (pr: Probe, q: number) => ({ df: pr.df[q]!, g: pr.g.subarray(q * size, (q + 1) * size), wrong: pr.wrong[q]! });
  let at = new Map<number, ReturnType<typeof rowsOf>>();
  const refresh = (rows: number[]) => {
    if (rows.length === 0) return;
    const pr = probe(x, rows);
    rows.forEach((r, q) => at.set(r, rowsOf(pr, q)));
  };
  refresh(active);
  // An image already misclassified untouched is broken at distance 0.
  active = settle(
    active,
    Uint8Array.from(active, (r) => at.get(r)!.wrong),
  ).rows;
  for (let it = 0; it < o.iterations && active.length > 0 && o.eps > 0; it++) {
    for (const r of active) {
      const base = r * size;
      const pr = at.get(r)!;
      // The linearised boundary w . z = b through the current point: w = grad(f_t - f_y), b = w . x - df.
      let b = -pr.df;
      for (let p = 0; p < size; p++) {
        w[p] = pr.g[p]!;
        b += w[p]! * x[base + p]!;
      }
      const xr = x.subarray(base, base + size);
      const x0r = orig.subarray(base, base + size);
      projectOntoHyperplaneInBox(o.norm, xr, w, b, d1);
      projectOntoHyperplaneInBox(o.norm, x0r, w, b, d2);
      const a1 = Math.max(normOf(o.norm, d1), 1e-8);
      const a2 = Math.max(normOf(o.norm, d2), 1e-8);
      const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), o.alphaMax);
      for (let p = 0; p < size; p++) {
        const v = (xr[p]! + o.eta * d1[p]!) * (1 - alpha) + (x0r[p]! + o.eta * d2[p]!) * alpha;
        xr[p] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    at = new Map();
    refresh(active);
    const next = settle(
      active,
      Uint8Array.from(active, (r) => at.get(r)!.wrong),
    );
    // Rows that stepped back are linearised afresh where they now are (one more pass for them only).
    refresh(next.back);
    active = next.rows;
  }
  return {
    adversarial: tf.tensor4d(
      adversarial.map((v, i) => (fooled[Math.floor(i / size)] ? v : orig[i]!)),
      [n, h, wd, ch],
    ),
    fooled,
    distance,
  };
}
