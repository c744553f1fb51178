/**
 * The typed results Figures 1-3 are drawn from, which the figure stage fills from evaluation
 * metrics. A file of their own: figures.ts (the plots) calls figure-claims.ts (the paper's
 * statements beside ours), and both read these, so neither file needs to import the other's types.
 */

/** One Question-1 snapshot: the checkpoint after `step` training iterations, evaluated. */
export interface SnapshotResult {
  readonly step: number;
  /** Fraction in [0, 1]. */
  readonly naturalAccuracy: number;
  /** Attack key → attack success rate as a fraction (null: no example was classified correctly). */
  readonly asr: Readonly<Record<string, number | null>>;
  /** The evaluation nodes behind this snapshot's numbers (and its checkpoint's training node). */
  readonly nodes: readonly string[];
}

/** One Question-2 model trained on D_mix(α), evaluated. */
export interface MixResult {
  /** 'ResNet-50' | 'ResNet-18' | 'VGG-16'. */
  readonly model: string;
  readonly alpha: number;
  /** Attack key → accuracy as a fraction; `none` is natural accuracy, `l2-0.25`, `linf-8`, … robust. */
  readonly accuracy: Readonly<Record<string, number>>;
  readonly nodes: readonly string[];
}
