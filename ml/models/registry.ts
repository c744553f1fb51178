/**
 * The model factory: a validated `ModelConfig` (see config.ts) becomes a `Model`, with weights from a
 * seed or from stored values. `parameterSpecs`/`countParameters` build the same structure without
 * allocating any tensor, so full-size models can be counted cheaply.
 */
import { parseModelConfig, resnetLayout, type ModelConfig, type ModelConfigInput } from './config.ts';
import { GResNetBody } from './gresnet.ts';
import { Linear } from './layers.ts';
import type { Model } from './model.ts';
import { Network, type Body } from './network.ts';
import { ParamStore, sizeOf, type ParamSpec, type ParamValues } from './params.ts';
import { PtnBody } from './ptn.ts';
import { ResNetBody } from './resnet.ts';
import { StnBody } from './stn.ts';
import { VggBody } from './vgg.ts';

interface Structure {
  readonly config: ModelConfig;
  readonly store: ParamStore;
  readonly body: Body;
  readonly head: Linear;
}

function declare(raw: ModelConfigInput | ModelConfig): Structure {
  const config = parseModelConfig(raw);
  const store = new ParamStore();
  let body: Body;
  switch (config.arch) {
    case 'resnet18':
    case 'resnet34':
    case 'resnet50':
      body = new ResNetBody(store, resnetLayout(config.arch, config.blocks), config.width);
      break;
    case 'vgg16':
      body = new VggBody(store, config.width);
      break;
    case 'gresnet18':
    case 'gresnet34':
      body = new GResNetBody(store, resnetLayout(config.arch, config.blocks), config.width, config.groupPool);
      break;
    case 'stn-resnet18':
    case 'stn-resnet34':
      body = new StnBody(store, config, resnetLayout(config.arch, config.blocks));
      break;
    case 'ptn-resnet18':
    case 'ptn-resnet34':
      body = new PtnBody(store, config, resnetLayout(config.arch, config.blocks));
      break;
  }
  const head = new Linear(store, config.arch === 'vgg16' ? 'classifier' : 'linear', body.featureDim, config.numClasses);
  return { config, store, body, head };
}

/** A freshly initialised model; initial weights are a pure function of (config, seed). */
export function createModel(config: ModelConfigInput | ModelConfig, seed: number): Model {
  if (!Number.isInteger(seed)) throw new Error(`createModel: seed must be an integer, got ${seed}`);
  const s = declare(config);
  s.store.materialise({ seed });
  return new Network(s.config, s.store, s.body, s.head);
}

/** A model whose every variable (running statistics included) is read from `values`. */
export function modelFromValues(config: ModelConfigInput | ModelConfig, values: ParamValues): Model {
  const s = declare(config);
  s.store.materialise({ values });
  return new Network(s.config, s.store, s.body, s.head);
}

/** Every variable the model would have, in order, without allocating tensors. */
export function parameterSpecs(config: ModelConfigInput | ModelConfig): readonly ParamSpec[] {
  return declare(config).store.specs;
}

/** Trainable parameters (the usual "parameter count"; batch-norm running statistics excluded). */
export function countParameters(config: ModelConfigInput | ModelConfig): number {
  return parameterSpecs(config)
    .filter((s) => s.trainable)
    .reduce((a, s) => a + sizeOf(s.shape), 0);
}
