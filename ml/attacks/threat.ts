import * as tf from '@tensorflow/tfjs';
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
