/**
 * Learning-rate schedules as the paper uses them (piecewise constant), and snapshot schedules.
 *
 * - `milestones`: lr * factor^k after k of the given step counts have passed (Q1: 0.1, divided by 10
 *   after 40,000 and 60,000 iterations; PyTorch MultiStepLR stepped per iteration).
 * - `every-epochs`: lr * factor^floor(epoch / everyEpochs) (Q2/Q3: divided by 10 every 50 epochs;
 *   PyTorch StepLR stepped per epoch, as the robustness library does).
 * Step s (0-based) is the (s+1)-th optimiser update; epoch = floor(s / stepsPerEpoch).
 */
export type LrSchedule =
  | { readonly kind: 'constant'; readonly lr: number }
  | { readonly kind: 'milestones'; readonly lr: number; readonly milestones: readonly number[]; readonly factor: number }
  | { readonly kind: 'every-epochs'; readonly lr: number; readonly everyEpochs: number; readonly factor: number };

export function validateSchedule(s: LrSchedule, where = 'lr schedule'): void {
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) throw new Error(`${where}: lr must be a positive number, got ${s.lr}`);
  if (s.kind === 'constant') return;
  if (!(s.factor > 0) || !Number.isFinite(s.factor)) throw new Error(`${where}: factor must be positive, got ${s.factor}`);
  if (s.kind === 'milestones') {
    s.milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m < 1 || (i > 0 && m <= s.milestones[i - 1]!)) {
        throw new Error(`${where}: milestones must be increasing positive integers, got [${s.milestones}]`);
      }
    });
  } else if (!Number.isInteger(s.everyEpochs) || s.everyEpochs < 1) {
    throw new Error(`${where}: everyEpochs must be a positive integer, got ${s.everyEpochs}`);
  }
}

/** Learning rate of the update at 0-based `step`. */
export function learningRate(s: LrSchedule, step: number, stepsPerEpoch: number): number {
  switch (s.kind) {
    case 'constant':
      return s.lr;
    case 'milestones':
      return s.lr * s.factor ** s.milestones.filter((m) => step >= m).length;
    case 'every-epochs':
      return s.lr * s.factor ** Math.floor(Math.floor(step / stepsPerEpoch) / s.everyEpochs);
  }
}

export interface DenseThenSparse {
  /** Snapshot every `denseEvery` steps while step <= denseEpochs * stepsPerEpoch ... */
  readonly denseEvery: number;
  readonly denseEpochs: number;
  /** ... then at every multiple of `sparseEveryEpochs` epochs. */
  readonly sparseEveryEpochs: number;
}

/** Q1 (docs/method/training.md#snapshots): every 625 steps during the first 4 epochs, then every 4 epochs. */
export const Q1_SNAPSHOTS: DenseThenSparse = { denseEvery: 625, denseEpochs: 4, sparseEveryEpochs: 4 };

/**
 * Sorted step counts (weights after that many updates) at which to snapshot a run of `totalEpochs`
 * epochs; the end of training is always included.
 */
export function snapshotSteps(stepsPerEpoch: number, totalEpochs: number, plan: DenseThenSparse = Q1_SNAPSHOTS): number[] {
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) throw new Error(`snapshotSteps: bad stepsPerEpoch ${stepsPerEpoch}`);
  const total = stepsPerEpoch * totalEpochs;
  const steps = new Set<number>();
  const denseEnd = Math.min(total, plan.denseEpochs * stepsPerEpoch);
  for (let s = plan.denseEvery; s <= denseEnd; s += plan.denseEvery) steps.add(s);
  for (let e = plan.sparseEveryEpochs; e <= totalEpochs; e += plan.sparseEveryEpochs) steps.add(e * stepsPerEpoch);
  steps.add(total);
  return [...steps].sort((a, b) => a - b);
}
