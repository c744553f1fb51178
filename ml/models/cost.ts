/**
 * What a model costs and what it really is, from its config alone (no tfjs: stage declarations
 * and the graph builder use it). `forwardCost` counts a forward pass's multiply-adds and the
 * activations its elementwise layers touch, so plans scale sensibly with width and depth; plan
 * estimates are then calibrated by measured runs (engine/plan/estimates.ts). `describeModel` says the
 * real depth and widths behind a paper name such as "ResNet-34".
 */
import { resnetLayout, scaled, type ModelConfigInput } from './config.ts';

/** Base stage widths; the same as RESNET_WIDTHS (resnet.ts) and VGG16_LAYOUT (vgg.ts), tested equal. */
export const COST_RESNET_WIDTHS = [64, 128, 256, 512] as const;
export const COST_VGG16_LAYOUT = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'] as const;

/**
 * Time per unit relative to a plain ResNet of the same layout, measured on native (G-ResNet's p4m
 * convolutions are 8 group channels of width/sqrt 8; STN and PTN add a sampler and a small net).
 */
// Refit on an idle 2-core machine (bench/cpu-plan.ts, two nodes at once on one kernel thread each):
// measured / formula was 1.2-1.3 for ResNet-18, VGG-16 and STN trainings, 1.6 for PTN and 1.7
// for ResNet-50 (bottlenecks: more, smaller convolutions), and 4.3 for G-ResNet with the old
// factor of 3 (its p4m filters are expanded and its feature maps are 8 orientations wide). A
// G-ResNet's backward pass costs more again than its forward (the filter expansion's gradient):
// on the demo its evaluations ran at 0.2x a forward factor of 10, its trainings at 0.8x.
const FAMILY_FACTOR: Readonly<Record<string, number>> = { '': 1, g: 4, 'stn-': 1.15, 'ptn-': 1.6 };
const TRAINING_FACTOR: Readonly<Record<string, number>> = { g: 2.5 };
const BOTTLENECK_FACTOR = 1.3;

export interface ForwardCost {
  /** Multiply-adds of the convolutions and the classifier, per image. */
  readonly macs: number;
  /** Output elements of every conv (each then goes through batch norm and ReLU), per image. */
  readonly activations: number;
}

export type CostInput = Pick<ModelConfigInput, 'arch'> & {
  readonly width?: number;
  readonly blocks?: readonly number[];
  readonly inputSize: number;
  readonly numClasses?: number;
};

function family(arch: string): string {
  return /^(stn-|ptn-|g)/.exec(arch)?.[1] ?? '';
}

export function forwardCost(cfg: CostInput): ForwardCost {
  const width = cfg.width ?? 1;
  const side0 = cfg.inputSize;
  let macs = 0;
  let activations = 0;
  const conv = (cin: number, cout: number, k: number, side: number) => {
    macs += cin * cout * k * k * side * side;
    activations += cout * side * side;
  };
  if (cfg.arch === 'vgg16') {
    let cin = 3;
    let side = side0;
    for (const l of COST_VGG16_LAYOUT) {
      if (l === 'M') side = Math.max(1, Math.floor(side / 2));
      else {
        const c = scaled(l, width);
        conv(cin, c, 3, side);
        cin = c;
      }
    }
    macs += cin * (cfg.numClasses ?? 10);
    return { macs, activations };
  }
  const layout = resnetLayout(cfg.arch as Parameters<typeof resnetLayout>[0], cfg.blocks);
  const widths = COST_RESNET_WIDTHS.map((b) => scaled(b, width));
  const expansion = layout.block === 'bottleneck' ? 4 : 1;
  let cin = widths[0]!;
  conv(3, cin, 3, side0);
  let side = side0;
  layout.blocks.forEach((n, stage) => {
    const c = widths[stage]!;
    for (let i = 0; i < n; i++) {
      // The first block of stages 2-4 strides by 2: on the first 3x3 of a basic block, on the
      // 3x3 of a bottleneck (whose first 1x1 still runs at the input resolution), as resnet.ts.
      const inSide = side;
      if (stage > 0 && i === 0) side = Math.max(1, Math.ceil(side / 2));
      if (layout.block === 'basic') {
        conv(cin, c, 3, side);
        conv(c, c, 3, side);
      } else {
        conv(cin, c, 1, inSide);
        conv(c, c, 3, side);
        conv(c, c * expansion, 1, side);
      }
      if (cin !== c * expansion) conv(cin, c * expansion, 1, side);
      cin = c * expansion;
    }
  });
  macs += cin * (cfg.numClasses ?? 10);
  return { macs, activations };
}

/**
 * Seconds per image of one forward pass, native backend, two nodes sharing 2 cores. Anchor: ResNet-18 at width
 * 0.25 trains at ~350 img/s (a training step costs about three forward passes); elementwise work
 * is memory-bound and dominates at small widths.
 */
export function forwardSeconds(cfg: CostInput): number {
  const c = forwardCost(cfg);
  const bottleneck = cfg.arch === 'resnet50' ? BOTTLENECK_FACTOR : 1;
  return (FAMILY_FACTOR[family(cfg.arch)] ?? 1) * bottleneck * (c.macs / 3.8e10 + (4 * c.activations) / 2.3e9);
}

/** How much more a training step costs than `forwardSeconds` x its passes suggests, per family. */
export function trainingFactor(arch: string): number {
  return TRAINING_FACTOR[family(arch)] ?? 1;
}

/**
 * Seconds a node spends before and after its loop (model load, writes). Persistent workers boot
 * tfjs and the backend once, so this is what a node pays after the first: 0.2-0.4 s measured
 * (natural evaluations on the demo; bench/workers.ts), not the 1.7 s of a fresh process.
 */
export const NODE_OVERHEAD_SECONDS = 0.4;

/** "ResNet-34 layout [1, 1, 1, 1] basic blocks (10 layers), width 0.125 (channels 8-64)". */
export function describeModel(cfg: CostInput): string {
  const width = cfg.width ?? 1;
  if (cfg.arch === 'vgg16') {
    const cs = COST_VGG16_LAYOUT.filter((l): l is Exclude<typeof l, 'M'> => l !== 'M').map((l) => scaled(l, width));
    return `${cfg.arch}, 13 conv + 1 linear layers, width ${width} (channels ${Math.min(...cs)}-${Math.max(...cs)})`;
  }
  const layout = resnetLayout(cfg.arch as Parameters<typeof resnetLayout>[0], cfg.blocks);
  const perBlock = layout.block === 'basic' ? 2 : 3;
  const depth = 2 + perBlock * layout.blocks.reduce((a, b) => a + b, 0);
  const cs = COST_RESNET_WIDTHS.map((b) => scaled(b, width) * (layout.block === 'bottleneck' ? 4 : 1));
  const stock = resnetLayout(cfg.arch as Parameters<typeof resnetLayout>[0]).blocks;
  const same = stock.every((b, i) => b === layout.blocks[i]);
  return (
    `${cfg.arch}, blocks [${layout.blocks.join(', ')}]${same ? '' : ` (stock [${stock.join(', ')}])`}: ${depth} layers, ` +
    `width ${width} (stage channels ${scaled(COST_RESNET_WIDTHS[0], width)}-${cs[3]})`
  );
}
