import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';
import { ATTACK_PRESETS, AttackConfigSchema, type AttackConfig } from '../ml/attacks/config.ts';
import { gridSpec, type GridName } from '../ml/attacks/grids.ts';
import { NODE_OVERHEAD_SECONDS } from '../ml/models/cost.ts';
import { hintNumber } from './estimate-hints.ts';

function gridSize(name: GridName): number {
  const g = gridSpec(name);
  return g.translations.length ** 2 * g.rotations.length;
}

/**
 * (model, test set, attack) -> natural accuracy, robust accuracy, ASR, per-class figures and, for
 * PGD, the mean perturbation (docs/method/pgd-and-grids.md). The figures are the node's metrics in SQLite and
 * its `result` artifact, which the table and figure stages read.
 */
/**
 * Model passes per image, at most (every image surviving every step). AutoAttack's later components
 * only see the images the earlier ones left, so on a weak model it costs far less.
 */
function attackPasses(a: AttackConfig): number {
  switch (a.kind) {
    case 'pgd':
      return 2 * a.iterations + 1;
    case 'grid':
      return 1 + gridSize(a.grid);
    case 'apgd':
      return 1 + 2 * (a.iterations + 1) * a.restarts * (a.loss === 'ce' ? 1 : a.targets);
    case 'square':
      return 1 + a.queries;
    case 'autoattack':
      return a.components.reduce(
        (t, c) =>
          t +
          (c === 'apgd-ce'
            ? 2 * (a.apgdIterations + 1) * a.apgdRestarts
            : c === 'apgd-t'
              ? 2 * (a.apgdIterations + 1) * a.apgdRestarts * a.targets
              : a.squareQueries),
        1,
      );
    case 'none':
      return 1;
  }
}

const presetName = z.enum(Object.keys(ATTACK_PRESETS) as [keyof typeof ATTACK_PRESETS, ...(keyof typeof ATTACK_PRESETS)[]]);

export const evaluateParams = z
  .object({
    /** A preset name (`grid775`, `l2-0.5`, `linf-8-rs`, …) or a full attack description. */
    attack: z.union([presetName, AttackConfigSchema]),
    /** Evaluate a seeded subset of this many test images (absent: the whole set). */
    count: z.number().int().positive().optional(),
    subsetSeed: z.number().int().min(0).default(0),
    /** Seeds random starts and random targets. */
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().max(4096).default(128),
  })
  .strict();

export type EvaluateParams = z.input<typeof evaluateParams>;

const inputs = { model: { kind: 'file' }, data: { kind: 'file', description: 'test set' } } as const;
const outputs = { result: { kind: 'file', description: 'figures as JSON' } } as const;

/** What the run code (stages/run/evaluate.ts) is handed. */
export type EvaluateContext = StageContext<z.output<typeof evaluateParams>, typeof inputs, typeof outputs>;

export const evaluate = defineStage({
  name: 'evaluate',
  version: 1,
  module: import.meta.url,
  description: 'natural and robust accuracy and ASR of a model under one attack',
  params: evaluateParams,
  inputs,
  outputs,
  estimateSeconds: (p, hints) => {
    // Hints from the graph: the test set's size and the model's forward cost (ml/models/cost.ts).
    const n = p.count ?? hintNumber(hints, 'testCount', 10_000);
    const perImage = hintNumber(hints, 'forwardSeconds', 1 / 2000);
    const a = typeof p.attack === 'string' ? ATTACK_PRESETS[p.attack] : p.attack;
    // A PGD iteration is a forward and an input-gradient pass; a grid tries every motion.
    const passes = attackPasses(a);
    return NODE_OVERHEAD_SECONDS + n * passes * perImage * hintNumber(hints, 'slowdown', 1);
  },
  similarity: (p, hints) => {
    const attack = typeof p.attack === 'string' ? p.attack : JSON.stringify(p.attack);
    const model = typeof hints.model === 'string' ? hints.model : '?';
    // Then coarser: the same kind of attack (grid, pgd) on the same model, whose cost per pass is alike.
    const a = typeof p.attack === 'string' ? ATTACK_PRESETS[p.attack] : p.attack;
    const kind = a.kind === 'pgd' || a.kind === 'apgd' || a.kind === 'square' || a.kind === 'autoattack' ? `${a.kind}-${a.norm}` : a.kind;
    return [`${attack} ${model} bs${p.batchSize}`, `${attack} ${model.split(' ')[0]}`, `${kind} ${model}`, `${kind} ${model.split(' ')[0]}`];
  },
  run: async (ctx) => (await import('./run/evaluate.ts')).runEvaluate(ctx),
});
