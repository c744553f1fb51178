/**
 * SGD with momentum and weight decay, PyTorch semantics (torch.optim.SGD, dampening 0, no Nesterov):
 *   d = g + weightDecay * w;   v <- momentum * v + d;   w <- w - lr * v.
 * Weight decay applies to every trainable variable, batch-norm weights and biases included, as the
 * robustness library trains. Buffers start at zero, which equals PyTorch's "v = d on the first step"
 * exactly (momentum * 0 + d = d in floating point).
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedVariable } from '../models/model.ts';
import { sgdUpdate } from '../backend/sgd-update.ts';

export interface SgdConfig {
  readonly momentum: number;
  readonly weightDecay: number;
}

export class Sgd {
  /** Momentum buffers, named `<variable name>.momentum_buffer`, in the variables' order. */
  readonly buffers: readonly NamedVariable[];
  private readonly params: readonly NamedVariable[];

  constructor(
    variables: readonly NamedVariable[],
    readonly config: SgdConfig,
  ) {
    if (!(config.momentum >= 0 && config.momentum < 1)) throw new Error(`sgd: momentum must be in [0, 1), got ${config.momentum}`);
    if (!(config.weightDecay >= 0)) throw new Error(`sgd: weightDecay must be >= 0, got ${config.weightDecay}`);
    this.params = variables.filter((v) => v.trainable);
    this.buffers = this.params.map((p) => {
      const zeros = tf.zerosLike(p.variable);
      const variable = tf.variable(zeros, false);
      zeros.dispose(); // the variable keeps its own reference to the data
      return { name: `${p.name}.momentum_buffer`, variable, trainable: false };
    });
  }

  /**
   * One update. `grads` is keyed by tf.Variable name (what tf.variableGrads returns); a trainable
   * variable without a gradient is an error (it would silently never train).
   */
  step(grads: tf.NamedTensorMap, lr: number): void {
    if (!Number.isFinite(lr)) throw new Error(`sgd: learning rate must be finite, got ${lr}`);
    const { momentum, weightDecay } = this.config;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[p.variable.name];
        if (!g) throw new Error(`sgd: no gradient for ${p.name}`);
        const buf = this.buffers[i]!.variable;
        // One native kernel per variable where there is one; the same six ops elsewhere.
        const next = sgdUpdate(p.variable, g, buf, { lr, momentum, weightDecay });
        buf.assign(next.v);
        p.variable.assign(next.w);
      });
    });
  }

  dispose(): void {
    for (const b of this.buffers) b.variable.dispose();
  }
}
