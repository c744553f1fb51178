import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.ts';
import { exampleL2Norm, l2Project, linfProject } from './steps.ts';

/**
 * The per-threat-model pieces the iterative attacks share (the robustness library's attack-step
 * idea): a step of per-example size along the steepest-ascent direction of the norm, and the
 * projection onto the eps-ball around x0 intersected with the [0, 1] box. One object per norm, so
 * an attack's loop is written once.
 */
export interface ThreatModel {
  readonly norm: 'l2' | 'linf';
  /** x + eta * direction(g), eta [N, 1, 1, 1] per example. */
  step(x: tf.Tensor4D, g: tf.Tensor4D, eta: tf.Tensor4D): tf.Tensor4D;
  project(x: tf.Tensor4D, x0: tf.Tensor4D, eps: number): tf.Tensor4D;
}

const L2: ThreatModel = {
  norm: 'l2',
  step: (x, g, eta) => tf.tidy(() => tf.add(x, tf.mul(tf.div(g, tf.add(exampleL2Norm(g), 1e-12)), eta)) as tf.Tensor4D),
  project: l2Project,
};

const LINF: ThreatModel = {
  norm: 'linf',
  step: (x, g, eta) => tf.tidy(() => tf.add(x, tf.mul(tf.sign(g), eta)) as tf.Tensor4D),
  project: linfProject,
};

export function threatModel(norm: 'l2' | 'linf'): ThreatModel {
  if (norm === 'l2') return L2;
  if (norm === 'linf') return LINF;
  throw new Error(`unknown norm '${String(norm)}' (expected l2 or linf)`);
}

/**
 * One generator per image, named by the attack, the image's identity (its index in the dataset) and
 * the seed: an image's random draws are then the same whichever batch or subset it is attacked in,
 * so a component run alone and inside AutoAttack make the same moves on it.
 */
export function imageRngs(seed: number, attack: string, ids: ArrayLike<number>): Rng[] {
  return Array.from(ids, (id) => Rng.derive(seed, `${attack}:${id}`));
}

/** A random start per image from its own generator: L2, eps n/||n||_2, n normal; L-inf, uniform in [-eps, eps]; clamped to [0, 1]. */
export function imageRandomStart(x0: tf.Tensor4D, norm: 'l2' | 'linf', eps: number, rngs: readonly Rng[]): tf.Tensor4D {
  const n = x0.shape[0];
  const size = x0.size / Math.max(n, 1);
  const noise = new Float32Array(x0.size);
  for (let i = 0; i < n; i++) {
    const row = noise.subarray(i * size, (i + 1) * size);
    if (norm === 'l2') {
      rngs[i]!.fillNormal(row);
      let s = 0;
      for (const v of row) s += v * v;
      const scale = eps / (Math.sqrt(s) + 1e-10);
      for (let j = 0; j < size; j++) row[j]! *= scale;
    } else rngs[i]!.fillUniform(row, -eps, eps);
  }
  return tf.tidy(() => tf.clipByValue(tf.add(x0, tf.tensor4d(noise, x0.shape)), 0, 1) as tf.Tensor4D);
}
