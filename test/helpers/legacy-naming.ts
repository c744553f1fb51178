import type { Naming } from '../../experiments/naming.ts';

/**
 * The node ids before docs/naming.md (`train@q2-ResNet-18-alpha0`, `train@q3-ResNet-50-ResNet-50-D-std*-lr0.05`,
 * `train@robust-fA`), written as a Naming, so a test can build a store under them and then look at
 * it under today's. Only D_NR's build node differed in form (`build-dnr@det` beside `train@dnr-det`),
 * which one `dnr` cannot say: tests using this leave D_NR out.
 */
const segment = (value: string): string => value.replace(/[^A-Za-z0-9._*+-]+/g, '_');

export const LEGACY_NAMING: Naming = {
  q1Run: (arch) => `q1-${segment(arch)}`,
  snapshot: (run, step) => `${run}-step${step}`,
  q2Run: (model, alpha) => `q2-${segment(model)}-alpha${alpha}`,
  q3Run: ({ family, backbone, dataset, augmentation, lr }) => `q3-${segment(family)}-${segment(backbone)}-${dataset}-${segment(augmentation)}-lr${lr}`,
  fA: 'robust-fA',
  dnr: (variant) => `dnr-${variant}`,
  evaluation: (run, attack) => `${run}-${segment(attack)}`,
};
