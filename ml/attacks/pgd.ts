import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import type { Rng } from '../random.ts';
import { selectRows } from '../backend/select-rows.ts';
import { perExampleCrossEntropy } from './loss.ts';
import { l2NormalisedStep, l2Project, linfProject, linfStep, randomStart } from './steps.ts';

export interface PgdOptions {
  readonly norm: 'l2' | 'linf';
  readonly eps: number;
  readonly step: number;
  readonly iterations: number;
  /** Descend the loss of `labels` (the targets) instead of ascending it. */
  readonly targeted?: boolean;
  /** Start from a random point of the eps-ball (needs `rng`). */
  readonly randomStart?: boolean;
  readonly rng?: Rng;
  /**
   * Diagnostic hook, called with the start (iteration 0) and every projected iterate. The tensor
   * is disposed after the call: read it synchronously, do not keep it.
   */
  readonly onIterate?: (x: tf.Tensor4D, iteration: number) => void;
}

export interface PgdResult {
  /** Per example, the iterate with the highest loss (lowest when targeted), start and end included. */
  readonly adversarial: tf.Tensor4D;
  /** The loss at that iterate [N]. */
  readonly loss: tf.Tensor1D;
}

export function validatePgdOptions(o: PgdOptions): void {
  const bad = (what: string) => {
    throw new Error(`PGD: ${what} (norm=${o.norm}, eps=${o.eps}, step=${o.step}, iterations=${o.iterations})`);
  };
  if (o.norm !== 'l2' && o.norm !== 'linf') bad(`unknown norm '${String(o.norm)}'`);
  if (!(Number.isFinite(o.eps) && o.eps >= 0)) bad('eps must be a finite number >= 0');
  if (!(Number.isFinite(o.step) && o.step > 0)) bad('step must be a finite number > 0');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 0)) bad('iterations must be an integer >= 0');
  if (o.randomStart && !o.rng) bad('randomStart needs an rng');
}

/**
 * Projected gradient descent on one batch, as docs/method/pgd-and-grids.md#pgd states it (the robustness
 * library's definition): the model runs in 'eval' mode; each iteration computes the per-example cross-entropy of
 * `labels` and its gradient, records the best iterate so far, steps, then projects onto the
 * eps-ball around `x0` and the [0, 1] box; the final iterate is scored too.
 *
 * The gradient is that of the summed per-example losses: each example's gradient is then its own,
 * independent of the batch, and the normalised / sign steps do not see the library's 1/N factor.
 *
 * `labels` are int32 class indices [N]: true labels (untargeted) or targets (targeted). The caller
 * owns `x0` and `labels` and must dispose the result.
 */
export function pgdBatch(model: Classifier, x0: tf.Tensor4D, labels: tf.Tensor1D, options: PgdOptions): PgdResult {
  validatePgdOptions(options);
  if (labels.shape[0] !== x0.shape[0]) {
    throw new Error(`PGD: ${labels.shape[0]} labels for ${x0.shape[0]} images`);
  }
  const { norm, eps, step, iterations } = options;
  const targeted = options.targeted ?? false;
  const signedStep = targeted ? -step : step;
  const intLabels = labels.dtype === 'int32' ? labels : labels.toInt();
  const lossAndGrad = tf.valueAndGrad((x: tf.Tensor4D) => perExampleCrossEntropy(model.logits(x, 'eval'), intLabels));

  let x: tf.Tensor4D = options.randomStart ? randomStart(x0, norm, eps, options.rng!) : tf.clone(x0);
  let bestX: tf.Tensor4D | null = null;
  let bestLoss: tf.Tensor1D | null = null;
  options.onIterate?.(x, 0);

  // Keeps, per example, whichever of (x, loss) and (bestX, bestLoss) is strictly better.
  const record = (losses: tf.Tensor1D, xi: tf.Tensor4D): [tf.Tensor4D, tf.Tensor1D] => {
    if (bestX === null || bestLoss === null) return [tf.clone(xi), tf.clone(losses)];
    const better = targeted ? tf.less(losses, bestLoss) : tf.greater(losses, bestLoss);
    return [selectRows(better as tf.Tensor1D, xi, bestX), tf.where(better, losses, bestLoss) as tf.Tensor1D];
  };

  try {
    for (let i = 1; i <= iterations; i++) {
      const [nextX, nextBestX, nextBestLoss] = tf.tidy(() => {
        const { value: losses, grad } = lossAndGrad(x);
        const [bx, bl] = record(losses, x);
        const moved = norm === 'l2' ? l2NormalisedStep(x, grad, signedStep) : linfStep(x, grad, signedStep);
        const projected = norm === 'l2' ? l2Project(moved, x0, eps) : linfProject(moved, x0, eps);
        options.onIterate?.(projected, i);
        return [projected, bx, bl] as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
      });
      x.dispose();
      bestX?.dispose();
      bestLoss?.dispose();
      x = nextX;
      bestX = nextBestX;
      bestLoss = nextBestLoss;
    }
    const [finalX, finalLoss] = tf.tidy(() => record(perExampleCrossEntropy(model.logits(x, 'eval'), intLabels), x));
    bestX?.dispose();
    bestLoss?.dispose();
    bestX = null;
    bestLoss = null;
    return { adversarial: finalX, loss: finalLoss };
  } finally {
    x.dispose();
    bestX?.dispose();
    bestLoss?.dispose();
    if (intLabels !== labels) intLabels.dispose();
  }
}
