/**
 * Evaluation nodes write fractions in [0, 1] (naturalAccuracy, robustAccuracy, asr); reports show
 * percentages. Converting in one place keeps a fraction from being shown as 0.84 % by mistake.
 */
export function toPercent(fraction: number, where: string): number {
  if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    throw new Error(`${where}: expected a fraction in [0, 1], got ${String(fraction)}`);
  }
  return fraction * 100;
}

/** As toPercent, but null (e.g. an ASR with no correctly classified example) stays null. */
export function toPercentOrNull(fraction: number | null, where: string): number | null {
  return fraction === null ? null : toPercent(fraction, where);
}

export function checkPercent(value: number, where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new Error(`${where}: expected a percentage in [0, 100], got ${String(value)}`);
  }
}
