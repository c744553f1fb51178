/**
 * Natural accuracy, robust accuracy and attack success rate (docs/method/pgd-and-grids.md#metrics) from per-example
 * outcomes. ASR is undefined (null) when no example is classified correctly untouched.
 */
export interface AttackFigures {
  readonly count: number;
  readonly naturalCorrect: number;
  readonly robustCorrect: number;
  /** Examples correct untouched that the attack makes misclassified. */
  readonly fooled: number;
  readonly naturalAccuracy: number;
  /** Fraction of all examples still classified correctly after the attack. */
  readonly robustAccuracy: number;
  /** Among examples correct untouched, the fraction the attack fools; null when there are none. */
  readonly asr: number | null;
}

export interface ClassFigures extends AttackFigures {
  readonly label: number;
}

export interface AttackSummary extends AttackFigures {
  readonly perClass: readonly ClassFigures[];
}

function figures(count: number, naturalCorrect: number, robustCorrect: number, fooled: number): AttackFigures {
  return {
    count,
    naturalCorrect,
    robustCorrect,
    fooled,
    naturalAccuracy: count ? naturalCorrect / count : 0,
    robustAccuracy: count ? robustCorrect / count : 0,
    asr: naturalCorrect ? fooled / naturalCorrect : null,
  };
}

/**
 * `naturalCorrect[i]` / `robustCorrect[i]`: 1 when example i is classified correctly untouched /
 * after the attack. An example wrong untouched but right after the attack counts towards robust
 * accuracy (the fraction of all images classified correctly after A) but never as fooled.
 */
export function summariseAttack(
  labels: ArrayLike<number>,
  naturalCorrect: ArrayLike<number>,
  robustCorrect: ArrayLike<number>,
  numClasses: number,
): AttackSummary {
  const n = labels.length;
  if (naturalCorrect.length !== n || robustCorrect.length !== n) {
    throw new Error(`summariseAttack: ${n} labels, ${naturalCorrect.length} natural and ${robustCorrect.length} robust outcomes`);
  }
  const count = new Array<number>(numClasses).fill(0);
  const nat = new Array<number>(numClasses).fill(0);
  const rob = new Array<number>(numClasses).fill(0);
  const fool = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < numClasses)) {
      throw new Error(`summariseAttack: label ${y} of example ${i} is outside 0..${numClasses - 1}`);
    }
    count[y]!++;
    if (naturalCorrect[i]) nat[y]!++;
    if (robustCorrect[i]) rob[y]!++;
    if (naturalCorrect[i] && !robustCorrect[i]) fool[y]!++;
  }
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const perClass = count.map((c, label) => ({ label, ...figures(c, nat[label]!, rob[label]!, fool[label]!) }));
  return { ...figures(n, sum(nat), sum(rob), sum(fool)), perClass };
}
