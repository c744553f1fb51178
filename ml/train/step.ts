/**
 * One training step: train-mode forward, mean cross-entropy, gradients of every trainable variable,
 * an SGD update, then the batch-norm running-statistics update (outside the gradient tape).
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNormUpdates } from '../models/batch-norm.ts';
import type { Model } from '../models/model.ts';
import type { Sgd } from './sgd.ts';

/** Mean softmax cross-entropy of integer labels `y` [N] under `logits` [N, K]. */
export function crossEntropy(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return logp.mul(tf.oneHot(y, logits.shape[1])).sum(1).mean().neg() as tf.Scalar;
  });
}

export interface StepResult {
  /** Mean loss of the batch. */
  readonly loss: number;
  /** Correctly classified examples in the batch (train-mode logits, before the update). */
  readonly correct: number;
}

export function trainStep(model: Model, optimizer: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): StepResult {
  const bnUpdates = new BatchNormUpdates();
  let correct: tf.Scalar | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.logits(x, 'train', { bnUpdates });
      correct = tf.keep(logits.argMax(1).equal(y.toInt()).sum() as tf.Scalar);
      return crossEntropy(logits, y);
    }, model.trainableVariables as tf.Variable[]);
    optimizer.step(grads, lr);
    bnUpdates.apply();
    const loss = value.dataSync()[0]!;
    const nCorrect = (correct as tf.Scalar | null)?.dataSync()[0] ?? 0;
    value.dispose();
    tf.dispose(grads);
    return { loss, correct: nCorrect };
  } finally {
    bnUpdates.discard();
    (correct as tf.Scalar | null)?.dispose();
  }
}
