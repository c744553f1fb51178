/**
 * The names the report uses for attacks and training columns, and how they are printed. Attack keys
 * follow the attack presets of ml/attacks (`none`, `rot10`, `grid775_10`, `l2-0.25`, `linf-8`, …) so
 * the lead can key results by the preset an evaluation node ran.
 */

/** Table 1's rows, in the paper's order; `none` is natural accuracy. */
export const SPATIAL_ROWS = ['none', 'rot10', 'rot30', 'grid775_10', 'grid135', 'grid775'] as const;
export type SpatialRow = (typeof SPATIAL_ROWS)[number];

/** The four training settings of Tables 1-4: dataset × augmentation. */
export const TRAINING_COLUMNS = ['D', 'D_R', 'D*', 'D_R*'] as const;
export type TrainingColumn = (typeof TRAINING_COLUMNS)[number];

export type TrainingDataset = 'D' | 'D_R';
export type Augmentation = 'std' | 'std*';

export function trainingColumn(dataset: TrainingDataset, augmentation: Augmentation): TrainingColumn {
  if (dataset !== 'D' && dataset !== 'D_R') throw new Error(`unknown training dataset '${String(dataset)}' (expected D or D_R)`);
  if (augmentation !== 'std' && augmentation !== 'std*') {
    throw new Error(`unknown augmentation '${String(augmentation)}' (expected std or std*)`);
  }
  return augmentation === 'std' ? dataset : (`${dataset}*` as TrainingColumn);
}

const ATTACK_LABELS: Readonly<Record<string, string>> = {
  none: 'none (natural)',
  rot10: 'rot10',
  rot30: 'rot30',
  // As the preset and node ids write it (the paper's "grid775, 10°"), so terminal, HTML and ids agree.
  grid775_10: 'grid775_10',
  grid135: 'grid135',
  grid775: 'grid775',
  'l2-0.25': 'L2 ε=0.25',
  'l2-0.5': 'L2 ε=0.5',
  'linf-1': 'L∞ ε=1/255',
  'linf-2': 'L∞ ε=2/255',
  'linf-4': 'L∞ ε=4/255',
  'linf-8': 'L∞ ε=8/255',
  'linf-1-rs': 'L∞ ε=1/255',
  'linf-2-rs': 'L∞ ε=2/255',
  'linf-4-rs': 'L∞ ε=4/255',
  'linf-8-rs': 'L∞ ε=8/255',
  'aa-l2-0.25': 'AutoAttack L2 ε=0.25',
  'aa-l2-0.5': 'AutoAttack L2 ε=0.5',
  'aa-linf-8': 'AutoAttack L∞ ε=8/255',
  'aa-l2-0.25-lite': 'AutoAttack L2 ε=0.25',
  'aa-l2-0.5-lite': 'AutoAttack L2 ε=0.5',
  'aa-linf-8-lite': 'AutoAttack L∞ ε=8/255',
};

/**
 * A name from the paper as node ids and report file names write it (docs/naming.md): lower case,
 * `*` as `star`, everything but letters, digits and `.` dropped. ResNet-18 → resnet18, D_R → dr,
 * D_det → ddet, std* → stdstar, f_A → fa.
 */
export function nameToken(name: string): string {
  return name
    .toLowerCase()
    .replaceAll('*', 'star')
    .replace(/[^a-z0-9.]+/g, '');
}

/** The printed name of an attack key; unknown keys print as themselves. */
export function attackLabel(key: string): string {
  return ATTACK_LABELS[key] ?? key;
}
