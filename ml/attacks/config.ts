import { z } from 'zod';
import { AUTOATTACK_COMPONENTS } from './autoattack-components.ts';
import { GRID_NAMES } from './grids.ts';

/**
 * What an evaluation attacks with: a discriminated union on `kind`, validated with zod so that a
 * stage can reuse the schema for its parameters (docs/method/pgd-and-grids.md#named-attacks).
 */
export const PgdAttackSchema = z
  .object({
    kind: z.literal('pgd'),
    norm: z.enum(['l2', 'linf']),
    /** Radius of the threat model in [0, 1] pixel units (L2 over all pixels and channels, or L-inf). */
    eps: z.number().finite().nonnegative(),
    step: z.number().finite().positive(),
    iterations: z.number().int().nonnegative(),
    randomStart: z.boolean().default(false),
    /**
     * 'none': untargeted (ascend the loss of the true label). 'next': targeted toward
     * (y + 1) mod K. 'random': targeted toward a uniformly drawn class (seeded).
     */
    target: z.enum(['none', 'next', 'random']).default('none'),
  })
  .strict();

const norm = z.enum(['l2', 'linf']);
const radius = z.number().finite().nonnegative();

/** APGD (apgd.ts): iterations and restarts; the targeted DLR loss runs once per target class. */
export const ApgdAttackSchema = z
  .object({
    kind: z.literal('apgd'),
    norm,
    eps: radius,
    iterations: z.number().int().positive(),
    restarts: z.number().int().positive().default(1),
    loss: z.enum(['ce', 'dlr-targeted']).default('ce'),
    /** 'dlr-targeted': how many target classes (the highest-scoring wrong ones first). */
    targets: z.number().int().positive().default(9),
  })
  .strict();

/** Square (square.ts): score-based, `queries` model evaluations per image. */
export const SquareAttackSchema = z
  .object({
    kind: z.literal('square'),
    norm,
    eps: radius,
    queries: z.number().int().positive(),
    pInit: z.number().gt(0).max(1).default(0.8),
  })
  .strict();

/** AutoAttack (autoattack.ts): its components in order, each with its own budget. */
export const AutoAttackSchema = z
  .object({
    kind: z.literal('autoattack'),
    norm,
    eps: radius,
    components: z
      .array(z.enum(AUTOATTACK_COMPONENTS))
      .min(1)
      .default([...AUTOATTACK_COMPONENTS]),
    apgdIterations: z.number().int().positive().default(100),
    apgdRestarts: z.number().int().positive().default(1),
    targets: z.number().int().positive().default(9),
    /** FAB-T's steps per target class (it runs on the same `targets` classes as APGD-T). */
    fabIterations: z.number().int().positive().default(100),
    squareQueries: z.number().int().positive().default(5000),
    squarePInit: z.number().gt(0).max(1).default(0.8),
  })
  .strict();

export const GridAttackSchema = z.object({ kind: z.literal('grid'), grid: z.enum(GRID_NAMES) }).strict();

export const NoAttackSchema = z.object({ kind: z.literal('none') }).strict();

export const AttackConfigSchema = z.discriminatedUnion('kind', [
  PgdAttackSchema,
  ApgdAttackSchema,
  SquareAttackSchema,
  AutoAttackSchema,
  GridAttackSchema,
  NoAttackSchema,
]);

export type PgdAttackConfig = z.infer<typeof PgdAttackSchema>;
export type GridAttackConfig = z.infer<typeof GridAttackSchema>;
export type ApgdAttackConfig = z.infer<typeof ApgdAttackSchema>;
export type SquareAttackConfig = z.infer<typeof SquareAttackSchema>;
export type AutoAttackConfig = z.infer<typeof AutoAttackSchema>;
export type AttackConfig = z.infer<typeof AttackConfigSchema>;
/** What a parameter file may write (defaults not yet filled in). */
export type AttackConfigInput = z.input<typeof AttackConfigSchema>;

/** Parses an attack config, naming `where` (file and key) and the offending fields on error. */
export function parseAttackConfig(value: unknown, where = 'attack config'): AttackConfig {
  const r = AttackConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  throw new Error(`invalid ${where} ${JSON.stringify(value)}: ${issues}`);
}

function l2(eps: number): PgdAttackConfig {
  return { kind: 'pgd', norm: 'l2', eps, step: 0.1, iterations: 100, randomStart: false, target: 'none' };
}
function linf(eps255: number, randomStart: boolean): PgdAttackConfig {
  const eps = eps255 / 255;
  return { kind: 'pgd', norm: 'linf', eps, step: eps / 4, iterations: 7, randomStart, target: 'none' };
}

/**
 * AutoAttack's standard settings (Croce & Hein 2020 as RobustBench runs it): APGD-CE 100 iterations
 * 1 restart, APGD-T 100 iterations on 9 target classes, FAB-T 100 iterations on the same 9, Square
 * 5000 queries from p_init 0.8.
 */
function aa(normName: 'l2' | 'linf', eps: number): AutoAttackConfig {
  return {
    kind: 'autoattack',
    norm: normName,
    eps,
    components: [...AUTOATTACK_COMPONENTS],
    apgdIterations: 100,
    apgdRestarts: 1,
    targets: 9,
    fabIterations: 100,
    squareQueries: 5000,
    squarePInit: 0.8,
  };
}
/**
 * The same attack on a CPU budget (demo and cpu profiles): fewer iterations, targets and queries,
 * and no FAB-T (what it would cost there: docs/attacks.md).
 */
function aaLite(normName: 'l2' | 'linf', eps: number): AutoAttackConfig {
  return { ...aa(normName, eps), components: ['apgd-ce', 'apgd-t', 'square'], apgdIterations: 25, targets: 3, fabIterations: 25, squareQueries: 300 };
}

/**
 * The paper's attacks by name. L-inf: `linf-k` is the robustness library's default (no random
 * start, Q2); `linf-k-rs` adds Madry et al.'s random start (Q1).
 */
export const ATTACK_PRESETS = {
  none: { kind: 'none' },
  'l2-0.25': l2(0.25),
  'l2-0.5': l2(0.5),
  'linf-1': linf(1, false),
  'linf-2': linf(2, false),
  'linf-4': linf(4, false),
  'linf-8': linf(8, false),
  'linf-1-rs': linf(1, true),
  'linf-2-rs': linf(2, true),
  'linf-4-rs': linf(4, true),
  'linf-8-rs': linf(8, true),
  'aa-l2-0.25': aa('l2', 0.25),
  'aa-l2-0.5': aa('l2', 0.5),
  'aa-linf-8': aa('linf', 8 / 255),
  'aa-l2-0.25-lite': aaLite('l2', 0.25),
  'aa-l2-0.5-lite': aaLite('l2', 0.5),
  'aa-linf-8-lite': aaLite('linf', 8 / 255),
  grid775: { kind: 'grid', grid: 'grid775' },
  grid135: { kind: 'grid', grid: 'grid135' },
  grid775_10: { kind: 'grid', grid: 'grid775_10' },
  rot30: { kind: 'grid', grid: 'rot30' },
  rot10: { kind: 'grid', grid: 'rot10' },
} as const satisfies Record<string, AttackConfig>;

export type AttackPresetName = keyof typeof ATTACK_PRESETS;

export function attackPreset(name: string): AttackConfig {
  if (!Object.hasOwn(ATTACK_PRESETS, name)) {
    throw new Error(`unknown attack preset '${name}'; known: ${Object.keys(ATTACK_PRESETS).join(', ')}`);
  }
  return ATTACK_PRESETS[name as AttackPresetName];
}

/** A short human-readable name, e.g. "L2-PGD eps=0.5 (100x0.1)" or "grid775". */
export function describeAttack(a: AttackConfig): string {
  switch (a.kind) {
    case 'none':
      return 'none';
    case 'grid':
      return a.grid;
    case 'apgd':
      return `${normLabel(a.norm)}-APGD-${a.loss === 'ce' ? 'CE' : `T (${a.targets} targets)`} eps=${epsLabel(a.norm, a.eps)} (${a.iterations} it., ${a.restarts} restart${a.restarts === 1 ? '' : 's'})`;
    case 'square':
      return `${normLabel(a.norm)}-Square eps=${epsLabel(a.norm, a.eps)} (${a.queries} queries, p_init ${a.pInit})`;
    case 'autoattack': {
      const parts = a.components.map((c) =>
        c === 'apgd-ce'
          ? `APGD-CE ${a.apgdIterations} it. x${a.apgdRestarts}`
          : c === 'apgd-t'
            ? `APGD-T ${a.apgdIterations} it. x${a.targets} targets`
            : c === 'fab-t'
              ? `FAB-T ${a.fabIterations} it. x${a.targets} targets`
              : `Square ${a.squareQueries} queries`,
      );
      return `${normLabel(a.norm)}-AutoAttack eps=${epsLabel(a.norm, a.eps)} (${parts.join(', ')})`;
    }
    case 'pgd': {
      const eps = a.norm === 'linf' ? `${+(a.eps * 255).toFixed(4)}/255` : `${a.eps}`;
      const extra = [a.randomStart ? 'random start' : '', a.target !== 'none' ? `target ${a.target}` : ''].filter(Boolean).join(', ');
      return `${a.norm === 'l2' ? 'L2' : 'Linf'}-PGD eps=${eps} (${a.iterations}x${+a.step.toPrecision(4)})${extra ? ` [${extra}]` : ''}`;
    }
    default: {
      const never: never = a;
      throw new Error(`unknown attack ${JSON.stringify(never)}`);
    }
  }
}

function normLabel(n: 'l2' | 'linf'): string {
  return n === 'l2' ? 'L2' : 'Linf';
}
function epsLabel(n: 'l2' | 'linf', eps: number): string {
  return n === 'linf' ? `${+(eps * 255).toFixed(4)}/255` : `${eps}`;
}
