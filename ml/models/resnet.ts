/**
 * The CIFAR ResNet trunk of the robustness library (docs/method/models.md#resnet): 3x3 stem without max-pool, four
 * stages of basic blocks or bottlenecks (expansion 4, stride on the 3x3), 1x1 conv + BN shortcut when
 * the shape changes. The convolution and batch-norm kinds are parameters, so the same trunk is the
 * plain ResNet, the G-ResNet (p4m convs, group-shared BN) and the PTN backbone (angle axis padded
 * circularly). Parameter names follow the PyTorch module paths (`layer2.0.shortcut.0.weight`).
 */
import type * as tf from '@tensorflow/tfjs';
import { BatchNorm, type ForwardContext } from './batch-norm.ts';
import type { ConvLayer } from './layers.ts';
import { Conv2d, globalAvgPool, normalizeInput, relu } from './layers.ts';
import { addRelu } from '../backend/add-relu.ts';
import { scaled, type ResNetLayout } from './config.ts';
import type { Body } from './network.ts';
import type { ParamStore } from './params.ts';

/** Stage widths of the CIFAR ResNets at width multiplier 1. */
export const RESNET_WIDTHS = [64, 128, 256, 512] as const;

export interface TrunkOps {
  /** A k x k convolution with PyTorch padding (k - 1) / 2; `stem` is the first (image-facing) conv. */
  conv(name: string, inChannels: number, outChannels: number, kernel: number, stride: number, stem: boolean): ConvLayer;
  bn(name: string, channels: number): BatchNorm;
}

interface Block {
  apply(x: tf.Tensor4D, ctx: ForwardContext, passThrough: boolean): tf.Tensor4D;
}

class Shortcut {
  constructor(
    readonly conv: ConvLayer,
    readonly bn: BatchNorm,
  ) {}
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), ctx);
  }
}

function shortcut(ops: TrunkOps, name: string, inC: number, outC: number, stride: number): Shortcut | null {
  if (stride === 1 && inC === outC) return null;
  return new Shortcut(ops.conv(`${name}.shortcut.0`, inC, outC, 1, stride, false), ops.bn(`${name}.shortcut.1`, outC));
}

function skipOf(shortcut: Shortcut | null, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
  return shortcut ? shortcut.apply(x, ctx) : x;
}

/**
 * Whether a block ends in one fused batch norm + add + ReLU (BatchNorm.applyRelu): in 'eval' mode
 * with a plain ReLU. The shortcut then runs before the last batch norm instead of after it: the
 * same values, and the block input's two gradient contributions still meet in the same order.
 * Training keeps the original op order.
 */
const fuseTail = (ctx: ForwardContext, passThrough: boolean): boolean => ctx.mode === 'eval' && !passThrough;

class BasicBlock implements Block {
  static readonly expansion = 1;
  private readonly conv1: ConvLayer;
  private readonly bn1: BatchNorm;
  private readonly conv2: ConvLayer;
  private readonly bn2: BatchNorm;
  private readonly shortcut: Shortcut | null;

  constructor(ops: TrunkOps, name: string, inC: number, planes: number, stride: number) {
    this.conv1 = ops.conv(`${name}.conv1`, inC, planes, 3, stride, false);
    this.bn1 = ops.bn(`${name}.bn1`, planes);
    this.conv2 = ops.conv(`${name}.conv2`, planes, planes, 3, 1, false);
    this.bn2 = ops.bn(`${name}.bn2`, planes);
    this.shortcut = shortcut(ops, name, inC, planes, stride);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext, passThrough: boolean): tf.Tensor4D {
    const h = this.bn1.applyRelu(this.conv1.apply(x), ctx);
    const y = this.conv2.apply(h);
    if (fuseTail(ctx, passThrough)) return this.bn2.applyRelu(y, ctx, skipOf(this.shortcut, x, ctx));
    const out = this.bn2.apply(y, ctx);
    const skip = skipOf(this.shortcut, x, ctx);
    return passThrough ? relu(out.add(skip) as tf.Tensor4D, true) : addRelu(out, skip);
  }
}

class Bottleneck implements Block {
  static readonly expansion = 4;
  private readonly conv1: ConvLayer;
  private readonly bn1: BatchNorm;
  private readonly conv2: ConvLayer;
  private readonly bn2: BatchNorm;
  private readonly conv3: ConvLayer;
  private readonly bn3: BatchNorm;
  private readonly shortcut: Shortcut | null;

  constructor(ops: TrunkOps, name: string, inC: number, planes: number, stride: number) {
    const outC = planes * Bottleneck.expansion;
    this.conv1 = ops.conv(`${name}.conv1`, inC, planes, 1, 1, false);
    this.bn1 = ops.bn(`${name}.bn1`, planes);
    this.conv2 = ops.conv(`${name}.conv2`, planes, planes, 3, stride, false);
    this.bn2 = ops.bn(`${name}.bn2`, planes);
    this.conv3 = ops.conv(`${name}.conv3`, planes, outC, 1, 1, false);
    this.bn3 = ops.bn(`${name}.bn3`, outC);
    this.shortcut = shortcut(ops, name, inC, outC, stride);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext, passThrough: boolean): tf.Tensor4D {
    const h1 = this.bn1.applyRelu(this.conv1.apply(x), ctx);
    const h2 = this.bn2.applyRelu(this.conv2.apply(h1), ctx);
    const y = this.conv3.apply(h2);
    if (fuseTail(ctx, passThrough)) return this.bn3.applyRelu(y, ctx, skipOf(this.shortcut, x, ctx));
    const out = this.bn3.apply(y, ctx);
    const skip = skipOf(this.shortcut, x, ctx);
    return passThrough ? relu(out.add(skip) as tf.Tensor4D, true) : addRelu(out, skip);
  }
}

export class ResNetTrunk {
  private readonly stem: ConvLayer;
  private readonly stemBn: BatchNorm;
  private readonly blocks: Block[] = [];
  /** Features (per group element, for G-ResNets) of the last stage. */
  readonly outChannels: number;

  /**
   * `widths`: the four stage widths (the stem has widths[0]); `prefix` is prepended to every
   * parameter name ('' for a plain classifier, e.g. 'backbone.' inside another model).
   */
  constructor(
    ops: TrunkOps,
    layout: ResNetLayout,
    widths: readonly number[],
    inChannels: number,
    prefix = '',
    /** Stride of each stage's first block (the CIFAR ResNet: 1, 2, 2, 2). */
    stageStrides: readonly number[] = [1, 2, 2, 2],
  ) {
    if (widths.length !== 4 || layout.blocks.length !== 4 || stageStrides.length !== 4) {
      throw new Error('ResNetTrunk: need 4 stage widths, block counts and strides');
    }
    const expansion = layout.block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    const BlockType = layout.block === 'basic' ? BasicBlock : Bottleneck;
    this.stem = ops.conv(`${prefix}conv1`, inChannels, widths[0]!, 3, 1, true);
    this.stemBn = ops.bn(`${prefix}bn1`, widths[0]!);
    let inC = widths[0]!;
    for (let stage = 0; stage < 4; stage++) {
      const planes = widths[stage]!;
      for (let b = 0; b < layout.blocks[stage]!; b++) {
        const stride = b === 0 ? stageStrides[stage]! : 1;
        this.blocks.push(new BlockType(ops, `${prefix}layer${stage + 1}.${b}`, inC, planes, stride));
        inC = planes * expansion;
      }
    }
    this.outChannels = inC;
  }

  /** The last stage's feature map; `passThrough` gives the final ReLU an identity gradient. */
  apply(x: tf.Tensor4D, ctx: ForwardContext, passThrough = false): tf.Tensor4D {
    let h = this.stemBn.applyRelu(this.stem.apply(x), ctx);
    this.blocks.forEach((block, i) => {
      h = block.apply(h, ctx, passThrough && i === this.blocks.length - 1);
    });
    return h;
  }
}

/** Plain convolutions and batch norm, zero or circular-row padding. */
export function plainTrunkOps(store: ParamStore, padMode: 'zeros' | 'circular-rows' = 'zeros'): TrunkOps {
  return {
    conv: (name, inC, outC, k, stride) => new Conv2d(store, name, inC, outC, k, { stride, pad: (k - 1) / 2, padMode }),
    bn: (name, c) => new BatchNorm(store, name, c),
  };
}

/** ResNet-18/34/50 classifier body: normalise, trunk, global average pool (4x4 on CIFAR). */
export class ResNetBody implements Body {
  readonly featureDim: number;
  private readonly trunk: ResNetTrunk;

  constructor(store: ParamStore, layout: ResNetLayout, width: number) {
    this.trunk = new ResNetTrunk(
      plainTrunkOps(store),
      layout,
      RESNET_WIDTHS.map((b) => scaled(b, width)),
      3,
    );
    this.featureDim = this.trunk.outChannels;
  }

  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D {
    return globalAvgPool(this.trunk.apply(normalizeInput(x), ctx, reluPassThrough));
  }
}
