import type { RigidMotion } from '../transform/rigid.ts';

/**
 * The five spatial grids of the paper (docs/method/pgd-and-grids.md#spatial-grids): every combination of a translation per
 * axis and a rotation is one grid point; an example is robust only if it survives all of them.
 */
export const GRID_NAMES = ['grid775', 'grid135', 'grid775_10', 'rot30', 'rot10'] as const;
export type GridName = (typeof GRID_NAMES)[number];

export interface GridSpec {
  /** Translation values in pixels, used for both tx and ty. */
  readonly translations: readonly number[];
  /** Rotation angles in degrees (counter-clockwise). */
  readonly rotations: readonly number[];
}

/**
 * `n` values evenly spaced over [-max, max]. Computed symmetrically so the middle value is exactly 0
 * and the ends exactly +-max: the identity must be a grid point bit for bit.
 */
export function symmetricLinspace(max: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`symmetricLinspace: bad count ${n}`);
  if (n === 1) return [0];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = (max * (2 * i - (n - 1))) / (n - 1);
    out.push(v === 0 ? 0 : v); // no -0
  }
  return out;
}

export function gridSpec(name: GridName): GridSpec {
  switch (name) {
    case 'grid775':
      return { translations: symmetricLinspace(3, 5), rotations: symmetricLinspace(30, 31) };
    case 'grid135':
      return { translations: symmetricLinspace(3, 3), rotations: symmetricLinspace(30, 15) };
    case 'grid775_10':
      return { translations: symmetricLinspace(3, 5), rotations: symmetricLinspace(10, 31) };
    case 'rot30':
      return { translations: [0], rotations: symmetricLinspace(30, 31) };
    case 'rot10':
      return { translations: [0], rotations: symmetricLinspace(10, 31) };
    default: {
      const never: never = name;
      throw new Error(`unknown spatial grid ${String(never)}; known: ${GRID_NAMES.join(', ')}`);
    }
  }
}

/** Every point of the grid, rotation-major then ty then tx (the attack reorders as it likes). */
export function gridMotions(name: GridName): RigidMotion[] {
  const { translations, rotations } = gridSpec(name);
  const out: RigidMotion[] = [];
  for (const angleDeg of rotations) for (const ty of translations) for (const tx of translations) out.push({ angleDeg, tx, ty });
  return out;
}
