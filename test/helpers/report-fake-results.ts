/**
 * Made-up but plausible results for report tests and for looking at figures: shaped like the
 * paper's descriptions (ASR bands, α trends), drawn with a seeded Rng. Not measurements.
 */
import { Rng } from '../../ml/random.ts';
import type { MixResult, SnapshotResult } from '../../report/figures.ts';

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Q1 snapshots: every 625 steps for 4 epochs, then every 4 epochs (3,125 steps) to 100 epochs. */
export function fakeSnapshots(seed = 1): SnapshotResult[] {
  const rng = new Rng(seed);
  const steps: number[] = [];
  for (let s = 625; s <= 4 * 781; s += 625) steps.push(s);
  for (let e = 8; e <= 100; e += 4) steps.push(e * 781);
  return steps.map((step) => {
    const natural = clamp01(0.95 - 0.5 * Math.exp(-step / 6000) + rng.uniform(-0.02, 0.02));
    const rising = clamp01((natural - 0.5) / 0.3);
    return {
      step,
      naturalAccuracy: natural,
      asr: {
        rot30: clamp01(rng.uniform(0.71, 0.8)),
        grid135: clamp01(rng.uniform(0.84, 0.9)),
        grid775: clamp01(rng.uniform(0.89, 0.95)),
        'linf-1': clamp01(0.2 + 0.25 * rising + rng.uniform(-0.02, 0.02)),
        'linf-2': clamp01(0.4 + 0.3 * rising + rng.uniform(-0.02, 0.02)),
        'linf-4': clamp01(0.7 + 0.2 * rising + rng.uniform(-0.02, 0.02)),
        'linf-8': clamp01(0.93 + 0.07 * rising - rng.uniform(0, 0.01)),
      },
      nodes: [`eval-q1-${step}`, `train-q1`],
    };
  });
}

/** Q2 results for ResNet-50 (all attacks), ResNet-18 and VGG-16 (L2), α = 0, 0.1, …, 1. */
export function fakeMix(seed = 2): MixResult[] {
  const rng = new Rng(seed);
  const out: MixResult[] = [];
  for (const [m, model] of ['ResNet-50', 'ResNet-18', 'VGG-16'].entries()) {
    for (let i = 0; i <= 10; i++) {
      const alpha = i / 10;
      const gain = 1 - Math.exp(-alpha * 12); // most of the robustness already at α = 0.1
      const natural = alpha < 1 ? 0.948 - 0.045 * alpha : 0.8475;
      const acc: Record<string, number> = {
        none: clamp01(natural - 0.01 * m + rng.uniform(-0.004, 0.004)),
        'l2-0.25': clamp01(0.05 + 0.45 * gain - 0.03 * m + rng.uniform(-0.01, 0.01)),
        'l2-0.5': clamp01(0.01 + 0.22 * gain - 0.02 * m + rng.uniform(-0.01, 0.01)),
      };
      if (model === 'ResNet-50') {
        acc['linf-1'] = clamp01(0.25 + 0.5 * gain + rng.uniform(-0.01, 0.01));
        acc['linf-2'] = clamp01(0.08 + 0.42 * gain + rng.uniform(-0.01, 0.01));
        acc['linf-4'] = clamp01(0.01 + 0.25 * gain + rng.uniform(-0.01, 0.01));
        acc['linf-8'] = clamp01(0.0 + 0.05 * gain + rng.uniform(0, 0.01));
      }
      out.push({ model, alpha, accuracy: acc, nodes: [`eval-${model}-${alpha}`] });
    }
  }
  return out;
}
