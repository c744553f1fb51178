/**
 * PTN-ResNet-18/34 (Esteves et al., docs/method/models.md#ptn-polar-transformer): an origin predictor (three 3x3 conv-BN-ReLU layers,
 * strides 2, 1, 1, then a 1x1 conv to one heat-map channel) whose heat-map centroid is the origin;
 * the [0, 1] image is resampled on a log-polar grid around it (rows: angle over [0, 2 pi), columns:
 * log-radius up to radiusFactor * width) and goes, normalised, through a ResNet whose convolutions pad
 * the angle axis circularly, so a rotation about the origin is a cyclic shift the backbone respects.
 *
 * The centroid weights are a softmax of the heat map over positions (positive, summing to 1, so the
 * origin always lies inside the image and is differentiable). Heat-map cell (i, j) sits at input
 * pixel (2j, 2i): the first conv has stride 2 and PyTorch padding 1.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, type ForwardContext } from './batch-norm.ts';
import { scaled, type PtnConfig, type ResNetLayout } from './config.ts';
import { Conv2d, globalAvgPool, normalizeInput } from './layers.ts';
import type { Body } from './network.ts';
import type { ParamStore } from './params.ts';
import { plainTrunkOps, RESNET_WIDTHS, ResNetTrunk } from './resnet.ts';
import { bilinearSample, logPolarGrid } from './sampler.ts';

export class OriginPredictor {
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm[];
  private readonly heat: Conv2d;

  constructor(store: ParamStore, channels: number) {
    this.convs = [0, 3, 6].map((i, k) => new Conv2d(store, `origin.${i}`, k === 0 ? 3 : channels, channels, 3, { stride: k === 0 ? 2 : 1, pad: 1 }));
    this.bns = [1, 4, 7].map((i) => new BatchNorm(store, `origin.${i}`, channels));
    this.heat = new Conv2d(store, 'origin.9', channels, 1, 1, { bias: true });
  }

  /** Origin [N, 2] as input pixel coordinates (x, y), from normalised images. */
  origin(xn: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    let h = xn;
    this.convs.forEach((conv, i) => {
      h = this.bns[i]!.applyRelu(conv.apply(h), ctx);
    });
    const map = this.heat.apply(h); // [N, h', w', 1]
    const [n, hh, ww] = map.shape;
    const weights = tf.softmax(map.reshape([n, hh * ww])); // [N, h'w']
    const px = new Float32Array(hh * ww);
    const py = new Float32Array(hh * ww);
    for (let i = 0; i < hh; i++) {
      for (let j = 0; j < ww; j++) {
        px[i * ww + j] = 2 * j;
        py[i * ww + j] = 2 * i;
      }
    }
    const coords = tf.stack([tf.tensor1d(px), tf.tensor1d(py)], 1) as tf.Tensor2D; // [h'w', 2]
    return tf.matMul(weights, coords);
  }
}

export class PtnBody implements Body {
  readonly featureDim: number;
  readonly originPredictor: OriginPredictor;
  private readonly trunk: ResNetTrunk;
  private readonly maxRadius: number;

  constructor(store: ParamStore, config: PtnConfig, layout: ResNetLayout) {
    this.originPredictor = new OriginPredictor(store, config.originChannels);
    this.trunk = new ResNetTrunk(
      plainTrunkOps(store, 'circular-rows'),
      layout,
      RESNET_WIDTHS.map((b) => scaled(b, config.width)),
      3,
    );
    this.featureDim = this.trunk.outChannels;
    this.maxRadius = config.radiusFactor * config.inputSize;
    if (!(this.maxRadius > 1)) throw new Error(`ptn: radiusFactor * inputSize must exceed 1 pixel, got ${this.maxRadius}`);
  }

  /** The log-polar image the backbone sees (rows: angle, columns: log-radius), in [0, 1]. */
  polar(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const [, h, w] = x.shape;
    const origin = this.originPredictor.origin(normalizeInput(x), ctx);
    const grid = logPolarGrid(origin, h, w, this.maxRadius);
    return bilinearSample(x.clipByValue(0, 1) as tf.Tensor4D, grid.xs, grid.ys);
  }

  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D {
    return globalAvgPool(this.trunk.apply(normalizeInput(this.polar(x, ctx)), ctx, reluPassThrough));
  }
}
