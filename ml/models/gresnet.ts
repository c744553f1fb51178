/**
 * G-ResNet-18/34 (docs/method/models.md#g-resnet-p4m; the port of adambielski/pytorch-gconv-experiments): the CIFAR
 * ResNet with every convolution a p4m group convolution (the stem lifts Z2 -> p4m, all others,
 * shortcuts included, p4m -> p4m), batch norm shared across the 8 group channels of each feature,
 * widths 23/45/91/181 (64/128/256/512 divided by sqrt 8).
 *
 * Head: global average pool, then either the group axis flattened into the classifier (the reference
 * port: 181 * 8 features) or, with `groupPool`, the mean over the group axis (181 features), which
 * makes the logits invariant wherever the trunk is exactly equivariant.
 */
import type * as tf from '@tensorflow/tfjs';
import { BatchNorm, type ForwardContext } from './batch-norm.ts';
import { scaled, type ResNetLayout } from './config.ts';
import { globalAvgPool, normalizeInput } from './layers.ts';
import type { Body } from './network.ts';
import { P4M_ORDER, P4MConv } from './p4m.ts';
import type { ParamStore } from './params.ts';
import { ResNetTrunk, type TrunkOps } from './resnet.ts';

export const GRESNET_WIDTHS = [23, 45, 91, 181] as const;

export function p4mTrunkOps(store: ParamStore): TrunkOps {
  return {
    conv: (name, inC, outC, k, stride, stem) => new P4MConv(store, name, inC, outC, k, stem, stride, (k - 1) / 2),
    bn: (name, c) => new BatchNorm(store, name, c, P4M_ORDER),
  };
}

export class GResNetBody implements Body {
  readonly featureDim: number;
  private readonly trunk: ResNetTrunk;

  constructor(
    store: ParamStore,
    layout: ResNetLayout,
    width: number,
    private readonly groupPool: boolean,
  ) {
    this.trunk = new ResNetTrunk(
      p4mTrunkOps(store),
      layout,
      GRESNET_WIDTHS.map((b) => scaled(b, width)),
      3,
    );
    this.featureDim = this.trunk.outChannels * (groupPool ? 1 : P4M_ORDER);
  }

  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D {
    const pooled = globalAvgPool(this.trunk.apply(normalizeInput(x), ctx, reluPassThrough));
    if (!this.groupPool) return pooled;
    return pooled.reshape([pooled.shape[0], this.trunk.outChannels, P4M_ORDER]).mean(2) as tf.Tensor2D;
  }
}
