/**
 * STN-ResNet-18/34 (docs/method/models.md#stn-spatial-transformer; the PyTorch STN tutorial's localisation network in front of a
 * CIFAR ResNet): the localisation network sees the normalised image and predicts a 2x3 affine matrix
 * (its last layer starts at zero weights and identity bias, so training starts from the identity);
 * the [0, 1] image is resampled through that matrix (bilinear, black fill) and the result goes,
 * normalised, through the ResNet backbone.
 *
 * Localisation: conv k0 (valid, bias) -> max-pool 2 -> ReLU -> conv k1 -> max-pool 2 -> ReLU ->
 * linear `hidden` -> ReLU -> linear 6. Names follow the tutorial (`localization.0`, `fc_loc.2`).
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from './batch-norm.ts';
import { scaled, type ResNetLayout, type StnConfig } from './config.ts';
import { Conv2d, globalAvgPool, Linear, normalizeInput } from './layers.ts';
import type { Body } from './network.ts';
import type { ParamStore } from './params.ts';
import { plainTrunkOps, RESNET_WIDTHS, ResNetTrunk } from './resnet.ts';
import { affineGrid, bilinearSample } from './sampler.ts';

export const IDENTITY_THETA = [1, 0, 0, 0, 1, 0] as const;

/** Spatial size after a valid conv of size k and a floor 2x2 max-pool. */
function afterConvPool(size: number, k: number): number {
  return Math.floor((size - k + 1) / 2);
}

export class Localization {
  private readonly conv0: Conv2d;
  private readonly conv1: Conv2d;
  private readonly fc0: Linear;
  private readonly fc1: Linear;

  constructor(store: ParamStore, inputSize: number, loc: StnConfig['loc']) {
    const s1 = afterConvPool(inputSize, loc.kernels[0]);
    const s2 = s1 >= loc.kernels[1] ? afterConvPool(s1, loc.kernels[1]) : 0;
    if (s2 < 1) {
      throw new Error(`stn: localisation kernels [${loc.kernels}] leave no pixels of a ${inputSize}x${inputSize} input (set loc.kernels smaller)`);
    }
    this.conv0 = new Conv2d(store, 'localization.0', 3, loc.channels[0], loc.kernels[0], { bias: true });
    this.conv1 = new Conv2d(store, 'localization.3', loc.channels[0], loc.channels[1], loc.kernels[1], { bias: true });
    this.fc0 = new Linear(store, 'fc_loc.0', loc.channels[1] * s2 * s2, loc.hidden);
    this.fc1 = new Linear(store, 'fc_loc.2', loc.hidden, 6, { weight: 'zeros', bias: IDENTITY_THETA });
  }

  /** theta [N, 2, 3] from normalised images. */
  theta(xn: tf.Tensor4D): tf.Tensor3D {
    const h0 = tf.relu(tf.maxPool(this.conv0.apply(xn), 2, 2, 'valid'));
    const h1 = tf.relu(tf.maxPool(this.conv1.apply(h0), 2, 2, 'valid'));
    const flat = h1.reshape([h1.shape[0], -1]) as tf.Tensor2D;
    return this.fc1.apply(tf.relu(this.fc0.apply(flat))).reshape([-1, 2, 3]) as tf.Tensor3D;
  }
}

export class StnBody implements Body {
  readonly featureDim: number;
  readonly localization: Localization;
  private readonly trunk: ResNetTrunk;

  constructor(store: ParamStore, config: StnConfig, layout: ResNetLayout) {
    this.localization = new Localization(store, config.inputSize, config.loc);
    this.trunk = new ResNetTrunk(
      plainTrunkOps(store),
      layout,
      RESNET_WIDTHS.map((b) => scaled(b, config.width)),
      3,
    );
    this.featureDim = this.trunk.outChannels;
  }

  /** The image the backbone sees, in [0, 1] (black where the transform reads outside). */
  transformed(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    const theta = this.localization.theta(normalizeInput(x));
    const grid = affineGrid(theta, h, w);
    return bilinearSample(x.clipByValue(0, 1) as tf.Tensor4D, grid.xs, grid.ys);
  }

  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D {
    return globalAvgPool(this.trunk.apply(normalizeInput(this.transformed(x)), ctx, reluPassThrough));
  }
}
