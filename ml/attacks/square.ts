import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import type { Rng } from '../random.ts';

/**
 * Square attack (docs/attacks.md): a random search that needs only the model's scores, never a
 * gradient, so a model that hides its gradient cannot hide from it. Each query changes the
 * perturbation inside one random square window (two for L2) and keeps the change only where the
 * margin z_y - max_{j != y} z_j went down; the window's side shrinks on a fixed schedule. Each image
 * draws its own windows from its own generator, so its attack does not depend on its batch.
 */
export interface SquareOptions {
  readonly norm: 'l2' | 'linf';
  readonly eps: number;
  /** Model evaluations per image, the initial one included. */
  readonly queries: number;
  /** Fraction of the image's pixels the first windows cover (the side then shrinks with the queries). */
  readonly pInit: number;
  /** One generator per image (imageRngs): its draws, whatever batch it is in. */
  readonly rngs: readonly Rng[];
}

export interface SquareResult {
  /** Per image, the point with the lowest margin found (misclassified where `fooled`). */
  readonly adversarial: tf.Tensor4D;
  readonly fooled: Uint8Array;
  /** Queries spent per image (an image stops once misclassified). */
  readonly queriesUsed: Int32Array;
}

export function validateSquareOptions(o: SquareOptions): void {
  const bad = (what: string) => {
    throw new Error(`Square: ${what} (norm=${o.norm}, eps=${o.eps}, queries=${o.queries}, pInit=${o.pInit})`);
  };
  if (o.norm !== 'l2' && o.norm !== 'linf') bad(`unknown norm '${String(o.norm)}'`);
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) bad('eps must be a finite number >= 0');
  if (!(Number.isInteger(o.queries) && o.queries >= 1)) bad('queries must be an integer >= 1');
  if (!(o.pInit > 0 && o.pInit <= 1)) bad('pInit must be in (0, 1]');
}

/**
 * The fraction of pixels a window covers at query `it` of `total`: pInit halved at fixed fractions
 * of the budget (the schedule is written for 10,000 queries and rescaled to `total`).
 */
export function squareFraction(pInit: number, it: number, total: number): number {
  const i = Math.floor((it / total) * 10000);
  const bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  let halvings = 0;
  for (const b of bounds) if (i > b) halvings++;
  return halvings === 0 ? pInit : pInit / 2 ** halvings;
}

/** Margin z_y - max_{j != y} z_j and predicted class per row. */
function scores(
  model: Classifier,
  pixels: Float32Array,
  shape: [number, number, number, number],
  y: ArrayLike<number>,
): { margin: Float32Array; wrong: Uint8Array } {
  const z = tf.tidy(() => model.logits(tf.tensor4d(pixels, shape), 'eval').dataSync() as Float32Array);
  const n = shape[0];
  const k = z.length / Math.max(n, 1);
  const margin = new Float32Array(n);
  const wrong = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let other = -Infinity;
    let arg = 0;
    for (let j = 0; j < k; j++) {
      const v = z[i * k + j]!;
      if (j !== y[i] && v > other) other = v;
      if (v > z[i * k + arg]!) arg = j;
    }
    margin[i] = z[i * k + y[i]!]! - other;
    wrong[i] = arg !== y[i] ? 1 : 0;
  }
  return { margin, wrong };
}

/**
 * A centred bump of side h x w: rings of weight 1/(r+1)^2 around the centre, unit L2 norm
 * (the Square attack's stand-in for a Gaussian).
 */
function bump(h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const [ch, cw] = [Math.floor(h / 2), Math.floor(w / 2)];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) out[r * w + c] = 0;
  }
  for (let ring = 0; ring < Math.max(ch + 1, cw + 1); ring++) {
    for (let r = Math.max(ch - ring, 0); r < Math.min(ch - ring + 2 * ring + 1, h); r++) {
      for (let c = Math.max(cw - ring, 0); c < Math.min(cw - ring + 2 * ring + 1, w); c++) out[r * w + c]! += 1 / (ring + 1) ** 2;
    }
  }
  return normalise(out);
}

function normalise(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** s x s: a bump on the top half and a negated bump on the bottom half, transposed half the time. */
function splitBump(s: number, rng: Rng): Float64Array {
  const top = Math.floor(s / 2);
  const out = new Float64Array(s * s);
  if (top > 0) bump(top, s).forEach((v, i) => (out[i] = v));
  bump(s - top, s).forEach((v, i) => (out[top * s + i] = -v));
  normalise(out);
  if (rng.float() > 0.5) {
    const t = new Float64Array(s * s);
    for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) t[c * s + r] = out[r * s + c]!;
    return t;
  }
  return out;
}

const sign = (rng: Rng) => (rng.float() < 0.5 ? -1 : 1);

/**
 * Square attack on one batch: `labels` are the true classes (int32 [N]). The caller owns `x0` and
 * `labels` and must dispose `adversarial`.
 */
export function squareBatch(model: Classifier, x0: tf.Tensor4D, labels: tf.Tensor1D, o: SquareOptions): SquareResult {
  validateSquareOptions(o);
  const [n, h, w, c] = x0.shape;
  if (labels.shape[0] !== n) throw new Error(`Square: ${labels.shape[0]} labels for ${n} images`);
  const y = Int32Array.from(labels.dataSync());
  const orig = x0.dataSync() as Float32Array;
  const size = h * w * c;
  const at = (r: number, col: number, ch: number) => (r * w + col) * c + ch;
  if (o.rngs.length !== n) throw new Error(`Square: ${o.rngs.length} generators for ${n} images`);
  const clip = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

  // The starting point: vertical stripes of +-eps (L-inf) or a grid of +-bumps scaled to eps (L2).
  const best = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    const base = i * size;
    const rng = o.rngs[i]!;
    if (o.norm === 'linf') {
      for (let col = 0; col < w; col++) {
        for (let ch = 0; ch < c; ch++) {
          const d = o.eps * sign(rng);
          for (let r = 0; r < h; r++) best[base + at(r, col, ch)] = clip(orig[base + at(r, col, ch)]! + d);
        }
      }
    } else {
      const delta = new Float64Array(size);
      const s = Math.max(Math.floor(h / 5), 1);
      const start = Math.floor((h - s * Math.floor(h / s)) / 2);
      const tile = bump(s, s);
      for (let r0 = start; r0 + s <= h; r0 += s) {
        for (let c0 = start; c0 + s <= w; c0 += s) {
          for (let ch = 0; ch < c; ch++) {
            const sg = sign(rng);
            for (let r = 0; r < s; r++) for (let col = 0; col < s; col++) delta[at(r0 + r, c0 + col, ch)]! += sg * tile[r * s + col]!;
          }
        }
      }
      let norm = 0;
      for (const v of delta) norm += v * v;
      const scale = o.eps / (Math.sqrt(norm) || 1);
      for (let p = 0; p < size; p++) best[base + p] = clip(orig[base + p]! + delta[p]! * scale);
    }
  }
  const shapeOf = (m: number): [number, number, number, number] => [m, h, w, c];
  const first = scores(model, best, shapeOf(n), y);
  const bestMargin = first.margin;
  const fooled = first.wrong.slice();
  const queriesUsed = new Int32Array(n).fill(1);

  for (let it = 1; it < o.queries && o.eps > 0; it++) {
    const active = [...fooled.keys()].filter((i) => !fooled[i]);
    if (active.length === 0) break;
    const p = squareFraction(o.pInit, it, o.queries);
    const candidate = new Float32Array(active.length * size);
    if (o.norm === 'linf') {
      const s = Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), Math.max(h - 1, 1));
      active.forEach((i, a) => {
        const rng = o.rngs[i]!;
        const [r0, c0] = [rng.int(h - s + 1), rng.int(w - s + 1)];
        const out = candidate.subarray(a * size, (a + 1) * size);
        out.set(best.subarray(i * size, (i + 1) * size));
        const x = orig.subarray(i * size, (i + 1) * size);
        // Redraw until the window changes somewhere (at the box's edge a flip may change nothing).
        for (let tries = 0; tries < 100; tries++) {
          let changed = false;
          for (let ch = 0; ch < c; ch++) {
            const d = o.eps * sign(rng);
            for (let r = r0; r < r0 + s; r++) {
              for (let col = c0; col < c0 + s; col++) {
                const q = at(r, col, ch);
                const v = clip(x[q]! + d);
                if (Math.abs(v - out[q]!) > 1e-7) changed = true;
                out[q] = v;
              }
            }
          }
          if (changed) break;
        }
      });
    } else {
      let s = Math.max(Math.round(Math.sqrt(p * h * w)), 3);
      if (s % 2 === 0) s++;
      s = Math.min(s, Math.min(h, w));
      const inWin = (r: number, col: number, r0: number, c0: number) => r >= r0 && r < r0 + s && col >= c0 && col < c0 + s;
      active.forEach((i, a) => {
        const rng = o.rngs[i]!;
        const [r1, c1] = [rng.int(h - s + 1), rng.int(w - s + 1)];
        const [r2, c2] = [rng.int(h - s + 1), rng.int(w - s + 1)];
        const x = orig.subarray(i * size, (i + 1) * size);
        const b = best.subarray(i * size, (i + 1) * size);
        const delta = Float64Array.from(b, (v, q) => v - x[q]!);
        let total = 0;
        for (const v of delta) total += v * v;
        const budget = Math.max(o.eps * o.eps - total, 0) / c;
        const fresh = splitBump(s, rng);
        for (let ch = 0; ch < c; ch++) {
          // Per channel: the mass in window 1 and in the union of both windows.
          let w1 = 0;
          let union = 0;
          for (let r = 0; r < h; r++) {
            for (let col = 0; col < w; col++) {
              const one = inWin(r, col, r1, c1);
              if (!one && !inWin(r, col, r2, c2)) continue;
              const v = delta[at(r, col, ch)]!;
              union += v * v;
              if (one) w1 += v * v;
            }
          }
          const n1 = Math.sqrt(w1) + 1e-10;
          const sg = sign(rng);
          const win = new Float64Array(s * s);
          let wn = 0;
          for (let r = 0; r < s; r++) {
            for (let col = 0; col < s; col++) {
              const v = sg * fresh[r * s + col]! + delta[at(r1 + r, c1 + col, ch)]! / n1;
              win[r * s + col] = v;
              wn += v * v;
            }
          }
          const target = Math.sqrt(budget + union) / (Math.sqrt(wn) || 1);
          for (let r = 0; r < s; r++) for (let col = 0; col < s; col++) delta[at(r2 + r, c2 + col, ch)] = 0;
          for (let r = 0; r < s; r++) for (let col = 0; col < s; col++) delta[at(r1 + r, c1 + col, ch)] = win[r * s + col]! * target;
        }
        let norm = 0;
        for (const v of delta) norm += v * v;
        const scale = o.eps / (Math.sqrt(norm) || 1);
        const out = candidate.subarray(a * size, (a + 1) * size);
        for (let q = 0; q < size; q++) out[q] = clip(x[q]! + delta[q]! * scale);
      });
    }
    const r = scores(
      model,
      candidate,
      shapeOf(active.length),
      active.map((i) => y[i]!),
    );
    active.forEach((i, a) => {
      queriesUsed[i]!++;
      if (r.margin[a]! < bestMargin[i]!) {
        bestMargin[i] = r.margin[a]!;
        best.set(candidate.subarray(a * size, (a + 1) * size), i * size);
        if (r.wrong[a]) fooled[i] = 1;
      }
    });
  }
  return { adversarial: tf.tensor4d(best, [n, h, w, c]), fooled, queriesUsed };
}
