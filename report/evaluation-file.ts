/**
 * Reads an `evaluate` node's result file: the few figures the tables and figures need, checked, so
 * a damaged or foreign file is named instead of plotted.
 */
import { readFileSync } from 'node:fs';
import type { AttackMoves } from '../ml/probe/attack-moves.ts';

export interface EvaluationFigures {
  readonly naturalAccuracy: number;
  readonly robustAccuracy: number;
  readonly asr: number | null;
  readonly count: number;
  /** The attack in words (absent in files older than it). */
  readonly description?: string;
  /** Per image, 1 where it stayed right, as a '0'/'1' string (absent in files older than it). */
  readonly robustMask?: string;
  /** AutoAttack and its components: images each component broke. */
  readonly brokenBy?: Readonly<Record<string, number>>;
  /** Synthetic data: which planted pattern the broken images' adversarial examples carry (ml/probe/attack-moves.ts). */
  readonly moved?: AttackMoves;
}

function fraction(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

export function readEvaluation(path: string, node: string): EvaluationFigures {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`evaluation result of ${node} (${path}) is not JSON: ${(e as Error).message}`);
  }
  const r = raw as Partial<Record<keyof EvaluationFigures, unknown>>;
  if (!fraction(r.naturalAccuracy) || !fraction(r.robustAccuracy) || !(r.asr === null || fraction(r.asr)) || typeof r.count !== 'number') {
    throw new Error(`evaluation result of ${node} (${path}) lacks naturalAccuracy/robustAccuracy/asr/count in [0, 1]`);
  }
  const extra = raw as { attack?: unknown; robustMask?: unknown; brokenBy?: unknown; moved?: unknown };
  const m = extra.moved as Partial<Record<keyof AttackMoves, unknown>> | undefined;
  const count = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  const moved =
    typeof m === 'object' &&
    m !== null &&
    count(m.broken) &&
    count(m.nonRobustToPrediction) &&
    count(m.robustToPrediction) &&
    count(m.neither) &&
    typeof m.meanPlanted === 'number'
      ? (m as AttackMoves)
      : undefined;
  const mask = typeof extra.robustMask === 'string' && /^[01]*$/.test(extra.robustMask) && extra.robustMask.length === r.count ? extra.robustMask : undefined;
  const brokenBy =
    typeof extra.brokenBy === 'object' && extra.brokenBy !== null && Object.values(extra.brokenBy).every((v) => Number.isInteger(v))
      ? (extra.brokenBy as Record<string, number>)
      : undefined;
  return {
    naturalAccuracy: r.naturalAccuracy,
    robustAccuracy: r.robustAccuracy,
    asr: r.asr,
    count: r.count,
    ...(typeof extra.attack === 'string' ? { description: extra.attack } : {}),
    ...(mask !== undefined ? { robustMask: mask } : {}),
    ...(brokenBy !== undefined ? { brokenBy } : {}),
    ...(moved !== undefined ? { moved } : {}),
  };
}
