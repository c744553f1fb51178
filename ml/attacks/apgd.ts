import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import type { Rng } from '../random.ts';
import { selectRows } from '../backend/select-rows.ts';
import { imageRandomStart, threatModel } from './threat.ts';

/**
 * Auto-PGD (APGD, docs/attacks.md): PGD with momentum whose step size needs no tuning. It starts
 * at 2 eps and is halved at checkpoints where the loss stopped rising often enough, and the walk
 * then restarts from the best point found so far.
 */
export type ApgdLoss = 'ce' | 'dlr-targeted';

export interface ApgdOptions {
  readonly norm: 'l2' | 'linf';
  readonly eps: number;
  /** Steps per restart (each is one forward and one input-gradient pass). */
  readonly iterations: number;
  /** Runs from fresh random starts; each later run attacks only the images not yet misclassified. */
  readonly restarts: number;
  /** 'ce': ascend the cross-entropy of the true label. 'dlr-targeted': ascend the targeted DLR loss. */
  readonly loss: ApgdLoss;
  /** One generator per image (imageRngs): its random starts, whatever batch it is in. */
  readonly rngs: readonly Rng[];
  /** 'dlr-targeted': the target class per image (int32 [N]). */
  readonly targets?: tf.Tensor1D;
  /**
   * The first run's starting point instead of a random one (same shape as x0, inside the ball):
   * lets a reference implementation that draws its own starts be compared step for step.
   */
  readonly start?: tf.Tensor4D;
  /** Halve the step when fewer than this fraction of the steps since the last checkpoint raised the loss. */
  readonly rho?: number;
  /** Weight of the new gradient step against the previous move (1: no momentum). */
  readonly momentum?: number;
  /**
   * Stop working on an image at its first misclassified iterate (default true): the result's
   * outcome and adversarial example are the same, for less work; `loss` then holds the highest loss
   * up to that iterate. False keeps every image to the end (to compare best losses with a reference).
   */
  readonly untilFooled?: boolean;
  /**
   * Diagnostic hook, called with every iterate of every restart, `rows` naming the batch's images
   * it holds (fewer as images are fooled); read it synchronously.
   */
  readonly onIterate?: (x: tf.Tensor4D, iteration: number, restart: number, rows: readonly number[]) => void;
}

export interface ApgdResult {
  /** Per image: a misclassified iterate where one was found, else the iterate with the highest loss. */
  readonly adversarial: tf.Tensor4D;
  /** 1 where some iterate was misclassified (argmax != label). */
  readonly fooled: Uint8Array;
  /** The highest loss seen per image (over the restarts that ran on it; see `untilFooled`). */
  readonly loss: Float32Array;
}

/** Checkpoints w_j = ceil(p_j N): p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), below N. */
export function apgdCheckpoints(iterations: number): number[] {
  const out = [0];
  let [prev, p] = [0, 0.22];
  while (p < 1) {
    const w = Math.ceil(p * iterations);
    if (w > out[out.length - 1]! && w < iterations) out.push(w);
    // Rounded so that 0.41 + 0.16 is 0.57, not 0.5700000000000001 (whose ceiling is one step later).
    [prev, p] = [p, Math.round((p + Math.max(p - prev - 0.03, 0.06)) * 1e9) / 1e9];
  }
  return out;
}

export function validateApgdOptions(o: ApgdOptions, numClasses: number): void {
  const bad = (what: string) => {
    throw new Error(`APGD: ${what} (norm=${o.norm}, eps=${o.eps}, iterations=${o.iterations}, restarts=${o.restarts}, loss=${o.loss})`);
  };
  if (o.norm !== 'l2' && o.norm !== 'linf') bad(`unknown norm '${String(o.norm)}'`);
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) bad('eps must be a finite number >= 0');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) bad('iterations must be an integer >= 1');
  if (!(Number.isInteger(o.restarts) && o.restarts >= 1)) bad('restarts must be an integer >= 1');
  if (o.loss !== 'ce' && o.loss !== 'dlr-targeted') bad(`unknown loss '${String(o.loss)}'`);
  if (o.loss === 'dlr-targeted' && !o.targets) bad('the targeted DLR loss needs targets');
  if (o.loss === 'dlr-targeted' && numClasses < 4) bad(`the DLR loss needs at least 4 classes, the model has ${numClasses}`);
  const rho = o.rho ?? 0.75;
  const m = o.momentum ?? 0.75;
  if (!(rho >= 0 && rho <= 1)) bad(`rho ${rho} outside [0, 1]`);
  if (!(m > 0 && m <= 1)) bad(`momentum ${m} outside (0, 1]`);
}

/** One-hot rows [N, K] from class indices. */
function oneHotRows(n: number, k: number, cls: (i: number) => number, weight = 1): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) out[i * k + cls(i)] = weight;
  return out;
}

/**
 * Per-example loss of `logits` [N, K], with `z` their values read back: the orderings the DLR loss
 * needs are taken from the values, so they carry no gradient (as the sort does in the definition).
 */
function lossOf(kind: ApgdLoss, logits: tf.Tensor2D, z: Float32Array, y: Int32Array, t: Int32Array | null): tf.Tensor1D {
  const [n, k] = logits.shape;
  if (kind === 'ce') {
    return tf.tidy(
      () =>
        tf.neg(
          tf.sum(
            tf.mul(
              tf.tensor2d(
                oneHotRows(n, k, (i) => y[i]!),
                [n, k],
              ),
              tf.logSoftmax(logits),
            ),
            1,
          ),
        ) as tf.Tensor1D,
    );
  }
  // Targeted DLR: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12), pi sorting z descending.
  const num = oneHotRows(n, k, (i) => y[i]!);
  const den = new Float32Array(n * k);
  const order = Array.from({ length: k }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    num[i * k + t![i]!]! -= 1;
    const row = z.subarray(i * k, (i + 1) * k);
    const sorted = order.slice().sort((a, b) => row[b]! - row[a]! || a - b);
    den[i * k + sorted[0]!] = 1;
    den[i * k + sorted[2]!] = -0.5;
    den[i * k + sorted[3]!] = -0.5;
  }
  return tf.tidy(() => {
    const numer = tf.sum(tf.mul(logits, tf.tensor2d(num, [n, k])), 1);
    const denom = tf.add(tf.sum(tf.mul(logits, tf.tensor2d(den, [n, k])), 1), 1e-12);
    return tf.neg(tf.div(numer, denom)) as tf.Tensor1D;
  });
}

interface Probe {
  readonly loss: Float32Array;
  readonly grad: tf.Tensor4D;
  readonly wrong: Uint8Array;
}

/**
 * APGD on one batch. `labels` are the true classes (int32 [N]); success is misclassification
 * whatever the loss. The model runs in 'eval' mode. The caller owns `x0`, `labels` and `targets`
 * and must dispose `adversarial`.
 */
export function apgdBatch(model: Classifier, x0: tf.Tensor4D, labels: tf.Tensor1D, options: ApgdOptions): ApgdResult {
  validateApgdOptions(options, model.numClasses);
  const n = x0.shape[0];
  if (labels.shape[0] !== n) throw new Error(`APGD: ${labels.shape[0]} labels for ${n} images`);
  if (options.targets && options.targets.shape[0] !== n) throw new Error(`APGD: ${options.targets.shape[0]} targets for ${n} images`);
  if (options.start && !tf.util.arraysEqual(options.start.shape, x0.shape)) throw new Error(`APGD: start [${options.start.shape}] for images [${x0.shape}]`);
  if (options.rngs.length !== n) throw new Error(`APGD: ${options.rngs.length} generators for ${n} images`);
  const y = Int32Array.from(labels.dataSync());
  const t = options.targets ? Int32Array.from(options.targets.dataSync()) : null;
  const fooled = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  let result = tf.clone(x0);
  try {
    for (let r = 0; r < options.restarts; r++) {
      const todo = [...fooled.keys()].filter((i) => !fooled[i]);
      if (todo.length === 0) break;
      const idx = tf.tensor1d(todo, 'int32');
      const xs = tf.gather(x0, idx) as tf.Tensor4D;
      idx.dispose();
      const run = apgdRun(
        model,
        xs,
        Int32Array.from(todo, (i) => y[i]!),
        t ? Int32Array.from(todo, (i) => t[i]!) : null,
        todo.map((i) => options.rngs[i]!),
        r === 0 ? options.start : undefined,
        options,
        (x, it, rows) =>
          options.onIterate?.(
            x,
            it,
            r,
            rows.map((q) => todo[q]!),
          ),
      );
      xs.dispose();
      // Scatter the run's rows back: an image fooled now, or never fooled and with a higher loss, takes them.
      const take = new Uint8Array(n);
      const rowOf = new Int32Array(n).fill(0);
      todo.forEach((i, j) => {
        rowOf[i] = j;
        if (run.fooled[j] || run.loss[j]! > bestLoss[i]! || r === 0) take[i] = 1;
        if (run.loss[j]! > bestLoss[i]!) bestLoss[i] = run.loss[j]!;
        if (run.fooled[j]) fooled[i] = 1;
      });
      const next = tf.tidy(() => {
        const spread = tf.gather(run.adversarial, tf.tensor1d(rowOf, 'int32')) as tf.Tensor4D;
        return selectRows(tf.tensor1d(take, 'bool') as tf.Tensor1D, spread, result);
      });
      run.adversarial.dispose();
      result.dispose();
      result = next;
    }
  } catch (e) {
    result.dispose();
    throw e;
  }
  return { adversarial: result, fooled, loss: bestLoss };
}

/**
 * One APGD run from a random start on the images `x0` (labels `y`, targets `t`). With `untilFooled`
 * an image leaves the batch at its first misclassified iterate: the model then runs only on the
 * images still standing, and the others' walks are unchanged (each image's loss, gradient and step
 * are its own).
 */
function apgdRun(
  model: Classifier,
  x0: tf.Tensor4D,
  y: Int32Array,
  t: Int32Array | null,
  rngs: readonly Rng[],
  start: tf.Tensor4D | undefined,
  o: ApgdOptions,
  onIterate: (x: tf.Tensor4D, iteration: number, rows: readonly number[]) => void,
): { adversarial: tf.Tensor4D; fooled: Uint8Array; loss: Float32Array } {
  const n = x0.shape[0];
  const threat = threatModel(o.norm);
  const rho = o.rho ?? 0.75;
  const alpha = o.momentum ?? 0.75;
  const untilFooled = o.untilFooled ?? true;
  const checkpoints = apgdCheckpoints(o.iterations);

  // The loss, its gradient and the predicted classes from one forward and one backward pass.
  const probe = (x: tf.Tensor4D, ya: Int32Array, ta: Int32Array | null): Probe => {
    const m = x.shape[0];
    let wrong = new Uint8Array(0);
    const { value, grad } = tf.tidy(() =>
      tf.valueAndGrad((xi: tf.Tensor4D) => {
        const logits = model.logits(xi, 'eval');
        const z = logits.dataSync() as Float32Array;
        const k = logits.shape[1];
        wrong = Uint8Array.from({ length: m }, (_, i) => {
          let best = 0;
          for (let j = 1; j < k; j++) if (z[i * k + j]! > z[i * k + best]!) best = j;
          return best !== ya[i] ? 1 : 0;
        });
        return lossOf(o.loss, logits, z, ya, ta);
      })(x),
    );
    const loss = Float32Array.from(value.dataSync());
    value.dispose();
    return { loss, grad, wrong };
  };

  const rows = (mask: Uint8Array) => tf.tensor1d(mask, 'bool') as tf.Tensor1D;
  const keep = (mask: Uint8Array, a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => selectRows(rows(mask), a, b));
  const swap = <T extends tf.Tensor>(old: T, next: T): T => {
    old.dispose();
    return next;
  };

  // The active images: `active[a]` is the run's row of active image a; every per-image state below
  // (tensors and arrays) is indexed by a and shrinks with `active`.
  let active = Array.from({ length: n }, (_, i) => i);
  let xs0 = tf.clone(x0);
  let ya = y;
  let ta = t;
  let x = start ? tf.clone(start) : o.eps > 0 ? imageRandomStart(x0, o.norm, o.eps, rngs) : tf.clone(x0);
  onIterate(x, 0, active);
  let p = probe(x, ya, ta);
  let grad = p.grad;
  let loss = p.loss;
  let xBest = tf.clone(x);
  let gradBest = tf.clone(grad);
  let bestLoss = loss.slice();
  let xPrev = tf.clone(x);
  let eta = new Float32Array(n).fill(2 * o.eps);
  let increases = new Int32Array(n);
  let bestAtCheckpoint = bestLoss.slice();
  let reducedAtCheckpoint = new Uint8Array(n);
  // Outputs by the run's rows; `found` holds the first misclassified iterate of each fooled image.
  const fooled = new Uint8Array(n);
  const lossOut = new Float32Array(n);
  const found: { rows: number[]; x: tf.Tensor4D }[] = [];
  let foundFull: tf.Tensor4D | null = untilFooled ? null : tf.clone(x);

  /** Records the images misclassified at `x` for the first time, and drops them from the batch. */
  const harvest = (wrong: Uint8Array) => {
    const newly = Uint8Array.from(wrong, (w, a) => (w && !fooled[active[a]!] ? 1 : 0));
    if (!newly.some((v) => v)) return;
    if (foundFull !== null) {
      foundFull = swap(foundFull, keep(newly, x, foundFull));
      newly.forEach((v, a) => v && (fooled[active[a]!] = 1));
      return;
    }
    const gone = [...newly.keys()].filter((a) => newly[a]);
    const stay = [...newly.keys()].filter((a) => !newly[a]);
    found.push({ rows: gone.map((a) => active[a]!), x: tf.tidy(() => tf.gather(x, tf.tensor1d(gone, 'int32')) as tf.Tensor4D) });
    for (const a of gone) {
      fooled[active[a]!] = 1;
      lossOut[active[a]!] = bestLoss[a]!;
    }
    // Typed arrays' filter keeps their type.
    const pick = <T extends Float32Array | Int32Array | Uint8Array>(v: T): T => (v as unknown as Uint8Array).filter((_, a) => !newly[a]) as unknown as T;
    const idx = tf.tensor1d(stay, 'int32');
    const take = (v: tf.Tensor4D) => swap(v, tf.gather(v, idx) as tf.Tensor4D);
    [xs0, x, xPrev, grad, xBest, gradBest] = [take(xs0), take(x), take(xPrev), take(grad), take(xBest), take(gradBest)];
    idx.dispose();
    [ya, eta, loss, bestLoss, increases, bestAtCheckpoint, reducedAtCheckpoint] = [
      pick(ya),
      pick(eta),
      pick(loss),
      pick(bestLoss),
      pick(increases),
      pick(bestAtCheckpoint),
      pick(reducedAtCheckpoint),
    ];
    if (ta) ta = pick(ta);
    active = stay.map((a) => active[a]!);
  };

  let j = 1;
  try {
    harvest(p.wrong);
    for (let k = 0; k < o.iterations && active.length > 0; k++) {
      const m = active.length;
      const next = tf.tidy(() => {
        const etaT = tf.tensor4d(eta, [m, 1, 1, 1]);
        const z = threat.project(threat.step(x, grad, etaT), xs0, o.eps);
        if (k === 0) return z;
        const moved = tf.add(tf.add(x, tf.mul(tf.sub(z, x), alpha)), tf.mul(tf.sub(x, xPrev), 1 - alpha)) as tf.Tensor4D;
        return threat.project(moved, xs0, o.eps);
      });
      xPrev = swap(xPrev, x);
      x = next;
      onIterate(x, k + 1, active);
      p = probe(x, ya, ta);
      grad = swap(grad, p.grad);
      for (let a = 0; a < m; a++) if (p.loss[a]! > loss[a]!) increases[a]!++;
      loss = p.loss;
      const improved = Uint8Array.from(loss, (v, a) => (v > bestLoss[a]! ? 1 : 0));
      if (improved.some((v) => v)) {
        xBest = swap(xBest, keep(improved, x, xBest));
        gradBest = swap(gradBest, keep(improved, grad, gradBest));
        improved.forEach((v, a) => v && (bestLoss[a] = loss[a]!));
      }
      harvest(p.wrong);
      if (j < checkpoints.length && k + 1 === checkpoints[j]) {
        const since = checkpoints[j]! - checkpoints[j - 1]!;
        const reduce = Uint8Array.from({ length: active.length }, (_, a) => {
          const oscillating = increases[a]! < rho * since;
          const stalled = !reducedAtCheckpoint[a] && bestLoss[a]! <= bestAtCheckpoint[a]!;
          return oscillating || stalled ? 1 : 0;
        });
        if (reduce.some((v) => v)) {
          reduce.forEach((v, a) => v && (eta[a]! /= 2));
          // Back to the best point, with its gradient and no momentum carried over.
          x = swap(x, keep(reduce, xBest, x));
          xPrev = swap(xPrev, keep(reduce, xBest, xPrev));
          grad = swap(grad, keep(reduce, gradBest, grad));
          reduce.forEach((v, a) => v && (loss[a] = bestLoss[a]!));
        }
        reducedAtCheckpoint = reduce;
        bestAtCheckpoint = bestLoss.slice();
        increases = new Int32Array(active.length);
        j++;
      }
    }
    active.forEach((r, a) => (lossOut[r] = bestLoss[a]!));
    if (foundFull !== null) return { adversarial: keep(fooled, foundFull, xBest), fooled, loss: lossOut };
    // Back into the run's row order: the found examples, then the best points of the rest.
    const order = [...found.flatMap((f) => f.rows), ...active];
    const where = new Int32Array(n);
    order.forEach((r, q) => (where[r] = q));
    const adversarial = tf.tidy(() => tf.gather(tf.concat([...found.map((f) => f.x), xBest]), tf.tensor1d(where, 'int32')) as tf.Tensor4D);
    return { adversarial, fooled, loss: lossOut };
  } finally {
    tf.dispose([xs0, x, xPrev, grad, xBest, gradBest, ...found.map((f) => f.x), ...(foundFull ? [foundFull] : [])]);
  }
}
