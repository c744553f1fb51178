/**
 * Architecture descriptions: a JSON-serialisable discriminated union on `arch`, validated, that
 * `createModel` turns into a network and that a saved model carries so it can be rebuilt.
 *
 * `width` multiplies every channel count (1 = the paper's widths), and `blocks` overrides the
 * per-stage block counts of the ResNet family, so the `demo` profile can shrink a model without
 * changing its structure.
 */
import { z } from 'zod';

const common = {
  /** Channel multiplier: every layer gets max(1, round(base * width)) channels. */
  width: z.number().positive().max(16).default(1),
  numClasses: z.number().int().min(2).max(100_000),
  /** Input images are inputSize x inputSize x 3, values in [0, 1]. */
  inputSize: z.number().int().min(8).max(1024),
};

const blocks = z.array(z.number().int().min(1).max(64)).length(4).readonly();

const resnetSchema = z.strictObject({
  arch: z.enum(['resnet18', 'resnet34', 'resnet50']),
  ...common,
  blocks: blocks.optional(),
});

const vggSchema = z.strictObject({
  arch: z.literal('vgg16'),
  ...common,
});

const gresnetSchema = z.strictObject({
  arch: z.enum(['gresnet18', 'gresnet34']),
  ...common,
  blocks: blocks.optional(),
  /**
   * Average over the 8 group channels of each feature before the classifier (invariant logits).
   * false = the reference port: the group axis is flattened into the classifier's input.
   */
  groupPool: z.boolean().default(false),
});

const stnSchema = z.strictObject({
  arch: z.enum(['stn-resnet18', 'stn-resnet34']),
  ...common,
  blocks: blocks.optional(),
  /** Localisation network (PyTorch STN tutorial): two valid convs, each then 2x2 max-pool and ReLU. */
  loc: z
    .strictObject({
      channels: z
        .tuple([z.number().int().min(1), z.number().int().min(1)])
        .readonly()
        .default([8, 10]),
      kernels: z
        .tuple([z.number().int().min(1), z.number().int().min(1)])
        .readonly()
        .default([7, 5]),
      hidden: z.number().int().min(1).default(32),
    })
    .default({ channels: [8, 10], kernels: [7, 5], hidden: 32 }),
});

const ptnSchema = z.strictObject({
  arch: z.enum(['ptn-resnet18', 'ptn-resnet34']),
  ...common,
  blocks: blocks.optional(),
  /** Filters of the origin predictor's three 3x3 conv-BN-ReLU layers (Esteves et al.: 20). */
  originChannels: z.number().int().min(1).default(20),
  /** Largest sampled radius as a fraction of the image width (Esteves et al.: 0.7071). */
  radiusFactor: z.number().positive().max(2).default(0.7071),
});

export const modelConfigSchema = z.discriminatedUnion('arch', [resnetSchema, vggSchema, gresnetSchema, stnSchema, ptnSchema]);

export type ModelConfig = z.output<typeof modelConfigSchema>;
/** What callers write: defaults may be left out. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
export type Arch = ModelConfig['arch'];
export type ResNetConfig = z.output<typeof resnetSchema>;
export type VggConfig = z.output<typeof vggSchema>;
export type GResNetConfig = z.output<typeof gresnetSchema>;
export type StnConfig = z.output<typeof stnSchema>;
export type PtnConfig = z.output<typeof ptnSchema>;

/** Validates `raw` and fills defaults; `where` names the source (a file, a stage parameter) in errors. */
export function parseModelConfig(raw: unknown, where = 'model config'): ModelConfig {
  const r = modelConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(`${where}: invalid model config: ${z.prettifyError(r.error)}`);
  const cfg = r.data;
  if (cfg.arch === 'vgg16' && cfg.inputSize % 32 !== 0) {
    throw new Error(`${where}: vgg16 needs inputSize divisible by 32 (5 max-pools), got ${cfg.inputSize}`);
  }
  return cfg;
}

/** Channel count for a layer whose paper width is `base`. */
export function scaled(base: number, width: number): number {
  return Math.max(1, Math.round(base * width));
}

export interface ResNetLayout {
  readonly block: 'basic' | 'bottleneck';
  readonly blocks: readonly number[];
}

/** Block type and counts of a ResNet-family architecture (the backbone of STN/PTN included). */
export function resnetLayout(arch: Arch, override?: readonly number[]): ResNetLayout {
  const depth = arch.replace(/^(stn-|ptn-|g)/, '');
  switch (depth) {
    case 'resnet18':
      return { block: 'basic', blocks: override ?? [2, 2, 2, 2] };
    case 'resnet34':
      return { block: 'basic', blocks: override ?? [3, 4, 6, 3] };
    case 'resnet50':
      return { block: 'bottleneck', blocks: override ?? [3, 4, 6, 3] };
    default:
      throw new Error(`resnetLayout: ${arch} is not a ResNet-family architecture`);
  }
}
