/**
 * One SGD step (momentum, weight decay, PyTorch semantics: ml/train/sgd.ts) of one variable as one
 * kernel on the native backend, instead of six elementwise tfjs ops and the scalar tensors they
 * make: the same float operations in the same order (native/src/sgd.cc), so the weights are
 * bit-identical. Elsewhere the composed ops, which are also the reference the kernel is tested
 * against.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export const SGD_UPDATE_KERNEL = 'RfSgdUpdate';

export interface SgdUpdateAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

/**
 *   d = g + weightDecay * w (d = g when weightDecay is 0);  v' = momentum * v + d;  w' = w - lr * v'
 * Returns the new weights and momentum buffer; the caller assigns them.
 */
export function sgdUpdate(w: Tensor, g: Tensor, v: Tensor, attrs: SgdUpdateAttrs, route: 'auto' | 'composed' = 'auto'): { w: Tensor; v: Tensor } {
  if (!tf.util.arraysEqual(w.shape, g.shape) || !tf.util.arraysEqual(w.shape, v.shape)) {
    throw new Error(`sgd: weight [${w.shape}], gradient [${g.shape}] and momentum buffer [${v.shape}] must have one shape`);
  }
  const { lr, momentum, weightDecay } = attrs;
  const native = route === 'auto' && [w, g, v].every((t) => t.dtype === 'float32') && tf.getKernel(SGD_UPDATE_KERNEL, tf.getBackend()) !== undefined;
  if (native) {
    const a: NamedAttrMap = { lr, momentum, weightDecay };
    const [wNew, vNew] = tf.engine().runKernel(SGD_UPDATE_KERNEL, { w, g, v }, a) as Tensor[];
    return { w: wNew!, v: vNew! };
  }
  return tf.tidy(() => {
    const d = weightDecay > 0 ? g.add(w.mul(weightDecay)) : g;
    const vNew = v.mul(momentum).add(d);
    return { w: w.sub(vNew.mul(lr)), v: vNew };
  });
}
