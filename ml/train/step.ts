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

/** The step's loss and correct count as tensors (the caller reads and disposes them). */
function stepTensors(model: Model, optimizer: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): { value: tf.Scalar; correct: tf.Scalar } {
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
    tf.dispose(grads);
    const out = { value, correct: correct as unknown as tf.Scalar };
    correct = null;
    return out;
  } finally {
    bnUpdates.discard();
    (correct as tf.Scalar | null)?.dispose();
  }
}

/** One step, read synchronously: on every backend but webgpu (see trainStepAsync). */
export function trainStep(model: Model, optimizer: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): StepResult {
  const { value, correct } = stepTensors(model, optimizer, x, y, lr);
  try {
    return { loss: value.dataSync()[0]!, correct: correct.dataSync()[0]! };
  } finally {
    tf.dispose([value, correct]);
  }
}

/** The same step, its loss read asynchronously: what a GPU backend in Node needs (sync-read.ts). */
export async function trainStepAsync(model: Model, optimizer: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): Promise<StepResult> {
  const { value, correct } = stepTensors(model, optimizer, x, y, lr);
  try {
    const [loss, nCorrect] = await Promise.all([value.data(), correct.data()]);
    return { loss: loss[0]!, correct: nCorrect[0]! };
  } finally {
    tf.dispose([value, correct]);
  }
}
