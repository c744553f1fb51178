/**
 * Facts the cost of a node depends on that are not its parameters (NodeSpec.estimateHints): the
 * size of the training or test set, and for evaluations and D_R/D_NR construction the forward
 * cost of the model they attack, found by following the graph to the train node behind it.
 */
import type { NodeSpec } from '../engine/core/project.ts';
import { refsOf } from '../engine/core/project.ts';
import type { EstimateHints } from '../engine/core/stage.ts';
import { modelConfigSchema } from '../ml/models/config.ts';
import { forwardSeconds } from '../ml/models/cost.ts';

export interface DataSizes {
  readonly trainCount: number;
  readonly testCount: number;
  /** How much slower than native the planned backend trains (1 on native); formulas are native-anchored. */
  readonly slowdown: number;
}

type ModelParams = Parameters<typeof forwardSeconds>[0];

/** The train node whose model reaches `spec` through its `model` (or a snapshot's `snapshots`) input. */
function trainedModel(spec: NodeSpec, byId: ReadonlyMap<string, NodeSpec>): ModelParams | undefined {
  let at: NodeSpec | undefined = spec;
  for (let hops = 0; at !== undefined && hops < 4; hops++) {
    // An invalid model entry gets no hints: the graph check that follows refuses it, naming its key.
    if (at.stage.name === 'train') {
      const m = modelConfigSchema.safeParse((at.params as { model: unknown }).model);
      return m.success ? m.data : undefined;
    }
    const up: string | undefined = refsOf(at.inputs?.model ?? at.inputs?.snapshots)[0]?.node;
    at = up === undefined ? undefined : byId.get(up);
  }
  return undefined;
}

function hintsOf(spec: NodeSpec, byId: ReadonlyMap<string, NodeSpec>, sizes: DataSizes): EstimateHints | undefined {
  switch (spec.stage.name) {
    case 'train':
      return { trainCount: sizes.trainCount, slowdown: sizes.slowdown };
    case 'evaluate':
    case 'build-dr':
    case 'build-dnr': {
      const m = trainedModel(spec, byId);
      const base = { trainCount: sizes.trainCount, testCount: sizes.testCount, slowdown: sizes.slowdown };
      if (m === undefined) return base;
      return { ...base, forwardSeconds: forwardSeconds(m), model: `${m.arch} w${m.width ?? 1} b${m.blocks?.join('') ?? '-'}` };
    }
    default:
      return undefined;
  }
}

export function withEstimateHints(nodes: readonly NodeSpec[], sizes: DataSizes): NodeSpec[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return nodes.map((n) => {
    const hints = hintsOf(n, byId, sizes);
    return hints === undefined ? n : { ...n, estimateHints: hints };
  });
}
