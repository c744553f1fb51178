import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.ts';

/**
 * The step, projection and random-start primitives of PGD exactly as docs/method/pgd-and-grids.md#pgd states them (the
 * robustness library's L2Step and LinfStep), shared by the attacks and by D_R construction.
 * Every function takes and returns NHWC batches; norms are per example over all pixels and channels.
 */

/** ||t_i||_2 over all axes but the first, shaped [N, 1, 1, 1] for broadcasting. */
export function exampleL2Norm(t: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true)) as tf.Tensor4D);
}

/** ||t_i||_inf over all axes but the first, shaped [N]. */
export function exampleLInfNorm(t: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.max(tf.abs(t), [1, 2, 3]) as tf.Tensor1D);
}

/** x + step * g / (||g||_2 + 1e-10); a negative `step` descends. */
export function l2NormalisedStep(x: tf.Tensor4D, g: tf.Tensor4D, step: number): tf.Tensor4D {
  return tf.tidy(() => tf.add(x, tf.mul(tf.div(g, tf.add(exampleL2Norm(g), 1e-10)), step)) as tf.Tensor4D);
}

/** delta = x - x0 scaled by eps/||delta||_2 where ||delta||_2 > eps, then x0 + delta clamped to [0, 1]. */
export function l2Project(x: tf.Tensor4D, x0: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const delta = tf.sub(x, x0) as tf.Tensor4D;
    const norm = exampleL2Norm(delta);
    // The division is only used where norm > eps >= 0, so norm = 0 never reaches it.
    const scale = tf.where(tf.greater(norm, eps), tf.div(tf.scalar(eps), norm), tf.onesLike(norm)) as tf.Tensor4D;
    return tf.clipByValue(tf.add(x0, tf.mul(delta, scale)), 0, 1) as tf.Tensor4D;
  });
}

/** x + step * sign(g); a negative `step` descends. */
export function linfStep(x: tf.Tensor4D, g: tf.Tensor4D, step: number): tf.Tensor4D {
  return tf.tidy(() => tf.add(x, tf.mul(tf.sign(g), step)) as tf.Tensor4D);
}

/** x - x0 clipped to [-eps, eps], then x0 + delta clamped to [0, 1]. */
export function linfProject(x: tf.Tensor4D, x0: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.add(x0, tf.clipByValue(tf.sub(x, x0), -eps, eps)), 0, 1) as tf.Tensor4D);
}

/**
 * Random start: L2, x0 + eps * n / ||n||_2 with n standard normal; L-inf, x0 + uniform noise in
 * [-eps, eps]; both clamped to [0, 1]. Noise is drawn image after image from `rng`, so a given image
 * gets the same start whatever the batch size, as long as batches are drawn in order.
 */
export function randomStart(x0: tf.Tensor4D, norm: 'l2' | 'linf', eps: number, rng: Rng): tf.Tensor4D {
  const noise = new Float32Array(x0.size);
  if (norm === 'l2') rng.fillNormal(noise);
  else rng.fillUniform(noise, -eps, eps);
  return tf.tidy(() => {
    const n = tf.tensor4d(noise, x0.shape);
    const delta = norm === 'l2' ? tf.mul(tf.div(n, tf.add(exampleL2Norm(n), 1e-10)), eps) : n;
    return tf.clipByValue(tf.add(x0, delta), 0, 1) as tf.Tensor4D;
  });
}
