/**
 * Items per second of a benchmark step: the median of its timed repetitions after `warmup`
 * untimed ones, repeated until both `minSteps` and `seconds` are reached.
 */
export async function timed(
  step: () => Promise<void>,
  items: number,
  o: { readonly seconds: number; readonly minSteps?: number; readonly warmup?: number },
): Promise<{ perS: number; steps: number }> {
  for (let i = 0; i < (o.warmup ?? 1); i++) await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < (o.minSteps ?? 3) || performance.now() - start < o.seconds * 1000) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { perS: items / (times[Math.floor(times.length / 2)]! / 1000), steps: times.length };
}
