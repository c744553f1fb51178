/**
 * What the training loop, serialisation and stages need of a model beyond the `Classifier` contract:
 * its validated architecture config, every variable by name (batch-norm running statistics included),
 * and a train-mode forward pass that reports batch-norm statistics for the running-stat update.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BatchNormUpdates } from './batch-norm.ts';
import type { Classifier, Mode } from './classifier.ts';
import type { ModelConfig } from './config.ts';

export interface NamedVariable {
  /** PyTorch-style module path, e.g. `layer1.0.bn1.running_mean`. */
  readonly name: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
}

export interface LogitsOptions {
  /** In 'train' mode, collects each batch norm's batch statistics (apply them after the step). */
  readonly bnUpdates?: BatchNormUpdates;
}

export interface Model extends Classifier {
  readonly config: ModelConfig;
  /** All variables in the fixed declaration order used by serialisation and checkpoints. */
  readonly namedVariables: readonly NamedVariable[];
  logits(x: tf.Tensor4D, mode: Mode, options?: LogitsOptions): tf.Tensor2D;
}
