import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import { l2NormalisedStep } from '../attacks/steps.ts';

export interface InversionOptions {
  readonly steps: number;
  readonly stepSize: number;
  /**
   * Step size of the last step: the steps shrink linearly from `stepSize` to it (absent: constant,
   * as in the authors' construction). Fixed-size normalised steps cannot settle closer to the
   * target than about one step; a short run (the demo's) needs large early steps to travel and
   * small late ones to land.
   */
  readonly finalStepSize?: number;
  /** Diagnostic hook: every iterate after its clamp (disposed after the call). */
  readonly onIterate?: (z: tf.Tensor4D, step: number) => void;
}

export interface InversionResult {
  /** The final iterate (no best-iterate selection, as in the authors' construction). */
  readonly z: tf.Tensor4D;
  /** ||g(z) - g(x)||_2 / ||g(x)||_2 per example at the start and at the final iterate. */
  readonly initialDistance: tf.Tensor1D;
  readonly distance: tf.Tensor1D;
}

// Inside the square root only, so the gradient stays finite if g(z) ever equals g(x) exactly.
const TINY = 1e-20;

function rowNorm(t: tf.Tensor2D, tiny = 0): tf.Tensor1D {
  return tf.sqrt(tf.add(tf.sum(tf.square(t), 1), tiny)) as tf.Tensor1D;
}

/**
 * Representation matching (docs/method/robust-datasets.md#building-d_r): minimises ||g(z) - g(x)||_2 / ||g(x)||_2 over z
 * in [0, 1]^d from z = `start`, with normalised L2 gradient steps of `stepSize`, clamping to [0, 1]
 * after each step and no norm bound. g is `model.features` with the final ReLU passing gradients
 * through. The caller owns `x` and `start` and must dispose the result.
 */
export function invertRepresentation(model: Classifier, x: tf.Tensor4D, start: tf.Tensor4D, options: InversionOptions): InversionResult {
  const { steps, stepSize } = options;
  const finalStepSize = options.finalStepSize ?? stepSize;
  if (!(Number.isFinite(finalStepSize) && finalStepSize > 0)) throw new Error(`representation inversion: bad finalStepSize ${finalStepSize}`);
  const stepAt = (i: number) => (steps <= 1 ? stepSize : stepSize + ((finalStepSize - stepSize) * (i - 1)) / (steps - 1));
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`representation inversion: bad steps ${steps}`);
  if (!(Number.isFinite(stepSize) && stepSize > 0)) throw new Error(`representation inversion: bad stepSize ${stepSize}`);
  if (x.shape.join() !== start.shape.join()) {
    throw new Error(`representation inversion: target ${x.shape} and start ${start.shape} differ in shape`);
  }
  const target = tf.tidy(() => model.features(x, { reluPassThrough: true }));
  const targetNorm = tf.tidy(() => tf.maximum(rowNorm(target), 1e-12) as tf.Tensor1D);
  const distanceOf = (z: tf.Tensor4D, tiny = 0): tf.Tensor1D =>
    tf.div(rowNorm(tf.sub(model.features(z, { reluPassThrough: true }), target) as tf.Tensor2D, tiny), targetNorm);
  const lossAndGrad = tf.valueAndGrad((z: tf.Tensor4D) => distanceOf(z, TINY));

  let z = tf.clone(start);
  let initialDistance: tf.Tensor1D | undefined;
  let handedOver = false;
  try {
    initialDistance = tf.tidy(() => distanceOf(z));
    for (let i = 1; i <= steps; i++) {
      const next = tf.tidy(() => {
        const { grad } = lossAndGrad(z);
        const moved = tf.clipByValue(l2NormalisedStep(z, grad, -stepAt(i)), 0, 1) as tf.Tensor4D;
        options.onIterate?.(moved, i);
        return moved;
      });
      z.dispose();
      z = next;
    }
    const distance = tf.tidy(() => distanceOf(z));
    handedOver = true;
    return { z, initialDistance, distance };
  } finally {
    if (!handedOver) tf.dispose([z, ...(initialDistance ? [initialDistance] : [])]);
    target.dispose();
    targetNorm.dispose();
  }
}
