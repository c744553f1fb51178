/** AutoAttack's components in their standard order (no tfjs here: stage declarations import it via config.ts). */
export const AUTOATTACK_COMPONENTS = ['apgd-ce', 'apgd-t', 'fab-t', 'square'] as const;
export type AutoAttackComponent = (typeof AUTOATTACK_COMPONENTS)[number];
