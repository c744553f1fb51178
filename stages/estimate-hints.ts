import type { EstimateHints } from '../engine/core/stage.ts';

/** A numeric hint the graph attached to a node (experiments/estimate-hints.ts), or `fallback` where it had none. */
export function hintNumber(hints: EstimateHints, key: string, fallback: number): number {
  const v = hints[key];
  return typeof v === 'number' ? v : fallback;
}

/**
 * Seconds for `iterations` forward + input-gradient passes on each of `count` images (D_R inversion
 * steps, D_NR PGD iterations), on the planned backend.
 */
export function inputGradientSeconds(count: number | undefined, iterations: number, hints: EstimateHints): number {
  const images = count ?? hintNumber(hints, 'trainCount', 50_000);
  return images * iterations * 2 * hintNumber(hints, 'forwardSeconds', 1 / 1500) * hintNumber(hints, 'slowdown', 1);
}
