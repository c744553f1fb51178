import * as tf from '@tensorflow/tfjs';

/** Cross-entropy of each row of `logits` [N, K] against class `labels` [N] (int32): [N]. */
export function perExampleCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const oneHot = tf.oneHot(labels.toInt(), k);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
  });
}
