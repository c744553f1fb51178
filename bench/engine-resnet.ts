/**
 * A minimal CIFAR ResNet (docs/method/models.md#resnet) in plain tfjs ops, for the engine benchmark and the
 * backend tests only: the project's models live in ml/models/. Mirrors bench/reference/resnet.py.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../ml/random.ts';
import { batchNormTrain } from '../ml/backend/batch-norm.ts';
import { batchNormTrainRelu } from '../ml/backend/batch-norm-relu.ts';
import { addRelu } from '../ml/backend/add-relu.ts';

export type Depth = 18 | 50;

export interface ResNetSpec {
  readonly depth: Depth;
  /** Stem width; stage widths are width x (1, 2, 4, 8). The paper's models use 64. */
  readonly width: number;
  readonly numClasses?: number;
}

const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.2023, 0.1994, 0.201];
const EPS = 1e-5;

interface BatchNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
  runMean: tf.Tensor1D;
  runVar: tf.Tensor1D;
}

interface ConvBn {
  w: tf.Variable;
  stride: number;
  bn: BatchNorm;
}

interface Block {
  convs: ConvBn[];
  shortcut?: ConvBn;
}

export type Mode = 'train' | 'eval';

export class BenchResNet {
  readonly variables: tf.Variable[] = [];
  private readonly stem: ConvBn;
  private readonly blocks: Block[] = [];
  private readonly fcW: tf.Variable;
  private readonly fcB: tf.Variable;
  private readonly rng: Rng;

  /** tf.moments + tf.batchNorm instead of the fused batchNormTrain op (to measure the difference). */
  plainBatchNorm = false;

  constructor(
    readonly spec: ResNetSpec,
    seed = 1,
  ) {
    this.rng = new Rng(seed);
    const w = spec.width;
    this.stem = this.convBn(3, w, 3, 1);
    const bottleneck = spec.depth === 50;
    const counts = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2];
    const expansion = bottleneck ? 4 : 1;
    let inC = w;
    counts.forEach((n, stage) => {
      const planes = w * 2 ** stage;
      for (let i = 0; i < n; i++) {
        const stride = i === 0 && stage > 0 ? 2 : 1;
        const outC = planes * expansion;
        const convs = bottleneck
          ? [this.convBn(inC, planes, 1, 1), this.convBn(planes, planes, 3, stride), this.convBn(planes, outC, 1, 1)]
          : [this.convBn(inC, planes, 3, stride), this.convBn(planes, planes, 3, 1)];
        const shortcut = stride !== 1 || inC !== outC ? this.convBn(inC, outC, 1, stride) : undefined;
        this.blocks.push(shortcut === undefined ? { convs } : { convs, shortcut });
        inC = outC;
      }
    });
    const classes = spec.numClasses ?? 10;
    this.fcW = this.variable(this.normal([inC, classes], 1 / Math.sqrt(inC)), [inC, classes]);
    this.fcB = this.variable(new Float32Array(classes), [classes]);
  }

  private normal(shape: number[], std: number): Float32Array {
    const a = new Float32Array(shape.reduce((p, d) => p * d, 1));
    for (let i = 0; i < a.length; i++) a[i] = this.rng.normal() * std;
    return a;
  }

  private variable(values: Float32Array, shape: number[]): tf.Variable {
    const v = tf.variable(tf.tensor(values, shape));
    this.variables.push(v);
    return v;
  }

  private convBn(inC: number, outC: number, k: number, stride: number): ConvBn {
    const w = this.variable(this.normal([k, k, inC, outC], Math.sqrt(2 / (k * k * inC))), [k, k, inC, outC]);
    const bn: BatchNorm = {
      gamma: this.variable(new Float32Array(outC).fill(1), [outC]),
      beta: this.variable(new Float32Array(outC), [outC]),
      runMean: tf.keep(tf.zeros([outC])),
      runVar: tf.keep(tf.ones([outC])),
    };
    return { w, stride, bn };
  }

  /** conv, batch norm, and ReLU when `relu` (fused into the batch norm in training, as the models do). */
  private applyConvBn(x: tf.Tensor4D, c: ConvBn, mode: Mode, relu = false): tf.Tensor4D {
    const y = tf.conv2d(x, c.w as tf.Tensor4D, c.stride, 'same');
    const act = (t: tf.Tensor4D) => (relu ? tf.relu(t) : t);
    if (mode === 'eval') return act(tf.batchNorm(y, c.bn.runMean, c.bn.runVar, c.bn.beta, c.bn.gamma, EPS) as tf.Tensor4D);
    if (this.plainBatchNorm) {
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return act(tf.batchNorm(y, mean, variance, c.bn.beta, c.bn.gamma, EPS) as tf.Tensor4D);
    }
    const bn = relu ? batchNormTrainRelu : batchNormTrain;
    return bn(y, c.bn.gamma as tf.Tensor1D, c.bn.beta as tf.Tensor1D, EPS).y;
  }

  logits(x: tf.Tensor4D, mode: Mode): tf.Tensor2D {
    const normed = tf.div(tf.sub(tf.clipByValue(x, 0, 1), MEAN), STD) as tf.Tensor4D;
    let h = this.applyConvBn(normed, this.stem, mode, true);
    for (const b of this.blocks) {
      let out = h;
      b.convs.forEach((c, i) => {
        out = this.applyConvBn(out, c, mode, i < b.convs.length - 1);
      });
      const short = b.shortcut === undefined ? h : this.applyConvBn(h, b.shortcut, mode);
      h = this.plainBatchNorm ? (tf.relu(tf.add(out, short)) as tf.Tensor4D) : addRelu(out, short);
    }
    const pooled = tf.avgPool(h, 4, 4, 'valid');
    const flat = tf.reshape(pooled, [pooled.shape[0], -1]) as tf.Tensor2D;
    return tf.add(tf.matMul(flat, this.fcW as tf.Tensor2D), this.fcB) as tf.Tensor2D;
  }

  /**
   * Multiply-adds x 2 of one image's forward pass (convolutions and the classifier; batch norm,
   * ReLU and pooling are a few percent and left out). A train step costs about 3x this (forward,
   * data gradient, weight gradient), an input gradient 2x.
   */
  forwardFlopsPerImage(): number {
    const conv = (c: ConvBn, size: number): { flops: number; size: number } => {
      const [k, , inC, outC] = c.w.shape as [number, number, number, number];
      const out = Math.ceil(size / c.stride);
      return { flops: 2 * out * out * k * k * inC * outC, size: out };
    };
    let { flops, size } = conv(this.stem, 32);
    for (const b of this.blocks) {
      let s = size;
      for (const c of b.convs) {
        const r = conv(c, s);
        flops += r.flops;
        s = r.size;
      }
      if (b.shortcut !== undefined) flops += conv(b.shortcut, size).flops;
      size = s;
    }
    const [inC, classes] = this.fcW.shape as [number, number];
    return flops + 2 * inC * classes;
  }

  dispose(): void {
    tf.dispose(this.variables);
    const bns = [this.stem, ...this.blocks.flatMap((b) => [...b.convs, ...(b.shortcut ? [b.shortcut] : [])])].map((c) => c.bn);
    for (const bn of bns) tf.dispose([bn.runMean, bn.runVar]);
  }
}

export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

/** One SGD step: forward in train mode, cross-entropy, backward, momentum update. */
export function trainStep(model: BenchResNet, opt: tf.Optimizer, x: tf.Tensor4D, labels: tf.Tensor1D): void {
  opt.minimize(() => crossEntropy(model.logits(x, 'train'), labels), false, model.variables);
}

/** The gradient of the loss with respect to the input, batch norm in eval mode (what attacks run). */
export function inputGradient(model: BenchResNet, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((xx: tf.Tensor) => crossEntropy(model.logits(xx as tf.Tensor4D, 'eval'), labels))(x) as tf.Tensor4D);
}
