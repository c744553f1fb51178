import type * as tf from '@tensorflow/tfjs';

/**
 * What attacks, training and D_R construction need from a model, whatever its architecture
 * (ResNet, VGG, G-ResNet, STN, PTN). Inputs are NHWC images in [0, 1]; per-channel normalisation
 * is the model's own first step (docs/method/models.md#input-normalisation).
 *
 * - 'train' mode: batch norm uses batch statistics (and the trainer updates running statistics);
 * - 'eval' mode: batch norm uses running statistics. Attacks always run in 'eval' mode.
 */
export type Mode = 'train' | 'eval';

export interface FeatureOptions {
  /**
   * Let gradients pass through the final ReLU of the last block as identity (the authors' D_R
   * construction does this so the inversion gets gradients for negative pre-activations).
   */
  readonly reluPassThrough?: boolean;
}

export interface Classifier {
  /** JSON-serialisable architecture description (enough to rebuild the model with fresh weights). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly numClasses: number;
  /** Class logits [N, numClasses]. */
  logits(x: tf.Tensor4D, mode: Mode): tf.Tensor2D;
  /** Penultimate representation g(x) [N, D] in eval mode (docs/method/models.md#the-penultimate-representation). */
  features(x: tf.Tensor4D, options?: FeatureOptions): tf.Tensor2D;
  /** Variables the optimiser updates. */
  readonly trainableVariables: readonly tf.Variable[];
  dispose(): void;
}
