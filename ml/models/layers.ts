/**
 * Plain layers over named parameters (PyTorch conventions, NHWC tensors, HWIO kernels) and the
 * small functional pieces every architecture shares. Layers do not tidy: the model's forward pass
 * runs inside one tf.tidy.
 *
 * Initialisation follows PyTorch's defaults, which is what the robustness library's CIFAR models
 * (and the G-CNN port) train from: conv and linear weights and biases uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)] (kaiming_uniform with a = sqrt(5)); batch norm weight 1, bias 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { Param, ParamStore } from './params.ts';
import { wrapRows } from '../backend/wrap-rows.ts';
import { clipNormalize } from '../backend/clip-normalize.ts';

/** Padding of the two spatial axes: zeros, or rows (the PTN angle axis) wrapped around and columns zero. */
export type PadMode = 'zeros' | 'circular-rows';

export interface ConvLayer {
  apply(x: tf.Tensor4D): tf.Tensor4D;
}

/**
 * Convolution (cross-correlation) with PyTorch's explicit symmetric padding `pad` on both axes, so a
 * stride-2 3x3 conv samples input positions 0, 2, 4, ... exactly as PyTorch does.
 */
export function convolve(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: number, pad: number, padMode: PadMode): tf.Tensor4D {
  if (padMode === 'zeros' || pad === 0) return tf.conv2d(x, kernel, stride, pad);
  if (pad > x.shape[1]) throw new Error(`circular padding ${pad} exceeds ${x.shape[1]} rows`);
  // Rows wrapped, then the convolution's own zero padding of the columns only.
  return tf.tidy(() =>
    tf.conv2d(wrapRows(x, pad), kernel, stride, [
      [0, 0],
      [0, 0],
      [pad, pad],
      [0, 0],
    ]),
  );
}

export class Conv2d implements ConvLayer {
  readonly weight: Param;
  readonly bias: Param | null;

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly options: { stride?: number; pad?: number; bias?: boolean; padMode?: PadMode } = {},
  ) {
    const bound = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = store.add(`${name}.weight`, [kernel, kernel, inChannels, outChannels], { kind: 'uniform', bound });
    this.bias = options.bias ? store.add(`${name}.bias`, [outChannels], { kind: 'uniform', bound }) : null;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const { stride = 1, pad = 0, padMode = 'zeros' } = this.options;
    const y = convolve(x, this.weight.v as tf.Tensor4D, stride, pad, padMode);
    return this.bias === null ? y : (y.add(this.bias.v) as tf.Tensor4D);
  }
}

export class Linear {
  readonly weight: Param;
  readonly bias: Param;

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    init?: { weight: 'zeros'; bias: readonly number[] },
  ) {
    const bound = 1 / Math.sqrt(inFeatures);
    const shapeW = [inFeatures, outFeatures];
    if (init) {
      this.weight = store.add(`${name}.weight`, shapeW, { kind: 'zeros' });
      this.bias = store.add(`${name}.bias`, [outFeatures], { kind: 'values', values: init.bias });
    } else {
      this.weight = store.add(`${name}.weight`, shapeW, { kind: 'uniform', bound });
      this.bias = store.add(`${name}.bias`, [outFeatures], { kind: 'uniform', bound });
    }
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.weight.v as tf.Tensor2D).add(this.bias.v);
  }
}

/** ReLU whose gradient is the identity (the authors' D_R construction, docs/method/robust-datasets.md#building-d_r). */
const reluIdentityGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.relu(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => dy,
}));

export function relu<T extends tf.Tensor>(x: T, passThrough = false): T {
  return (passThrough ? reluIdentityGrad(x) : tf.relu(x)) as T;
}

/** CIFAR-10 channel statistics (docs/method/models.md#input-normalisation). */
export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR_STD = [0.2023, 0.1994, 0.201] as const;

/** Clamps to [0, 1] and normalises per channel: every model's first step (one pass on native). */
export function normalizeInput(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] !== 3) throw new Error(`model input must have 3 channels, got shape [${x.shape}]`);
  return tf.tidy(() => clipNormalize(x, 0, 1, tf.tensor1d([...CIFAR_MEAN]), tf.tensor1d([...CIFAR_STD])));
}

/** Mean over the spatial axes: [N, H, W, C] -> [N, C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  // An average pool over the whole map, not mean([1, 2]): a mean over middle axes transposes
  // first, which the cpu kernels do element by element (a third of a G-ResNet forward pass).
  const [n, h, w, c] = x.shape;
  return tf.avgPool(x, [h, w], [h, w], 'valid').reshape([n, c]) as tf.Tensor2D;
}
