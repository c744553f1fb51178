import { z } from 'zod';
import { GRID_NAMES } from './grids.ts';

/**
 * What an evaluation attacks with: a discriminated union on `kind`, validated with zod so that a
 * stage can reuse the schema for its parameters (SPEC.md, Attacks).
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

export const GridAttackSchema = z.object({ kind: z.literal('grid'), grid: z.enum(GRID_NAMES) }).strict();

export const NoAttackSchema = z.object({ kind: z.literal('none') }).strict();

export const AttackConfigSchema = z.discriminatedUnion('kind', [PgdAttackSchema, GridAttackSchema, NoAttackSchema]);

export type PgdAttackConfig = z.infer<typeof PgdAttackSchema>;
export type GridAttackConfig = z.infer<typeof GridAttackSchema>;
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
