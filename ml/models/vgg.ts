/**
 * VGG-16 with batch norm, CIFAR variant (robustness library): thirteen 3x3 convs with bias, each
 * followed by batch norm and ReLU, five 2x2 max-pools, then a linear classifier on the 512 features.
 * Parameter names follow the PyTorch `features` Sequential indices (conv i, bn i+1, ReLU i+2, pool).
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, type ForwardContext } from './batch-norm.ts';
import { scaled } from './config.ts';
import { Conv2d, globalAvgPool, normalizeInput, relu } from './layers.ts';
import type { Body } from './network.ts';
import type { ParamStore } from './params.ts';

export const VGG16_LAYOUT = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'] as const;

type Stage = { readonly conv: Conv2d; readonly bn: BatchNorm } | 'M';

export class VggBody implements Body {
  readonly featureDim: number;
  private readonly stages: Stage[] = [];

  constructor(store: ParamStore, width: number) {
    let inC = 3;
    let index = 0;
    for (const item of VGG16_LAYOUT) {
      if (item === 'M') {
        this.stages.push('M');
        index += 1;
        continue;
      }
      const outC = scaled(item, width);
      const conv = new Conv2d(store, `features.${index}`, inC, outC, 3, { pad: 1, bias: true });
      const bn = new BatchNorm(store, `features.${index + 1}`, outC);
      this.stages.push({ conv, bn });
      index += 3;
      inC = outC;
    }
    this.featureDim = inC;
  }

  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D {
    let h = normalizeInput(x);
    const last = this.stages.map((s) => s !== 'M').lastIndexOf(true);
    this.stages.forEach((s, i) => {
      if (s === 'M') h = tf.maxPool(h, 2, 2, 'valid');
      else if (reluPassThrough && i === last) h = relu(s.bn.apply(s.conv.apply(h), ctx), true);
      else h = s.bn.applyRelu(s.conv.apply(h), ctx); // one fused pass in 'eval' mode
    });
    // After five pools a 32x32 input is 1x1, where this is the flatten of the reference model.
    return globalAvgPool(h);
  }
}
