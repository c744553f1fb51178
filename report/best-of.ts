/**
 * Question 3's runs and the "best over backbone and learning rate" selection behind Table 1.
 *
 * Choice: the best is taken PER CELL — for each (family, training column, attack) the maximum of
 * that attack's accuracy over the family's runs — not per run (e.g. the run with the best natural
 * accuracy, with all its attack values). Table 1's caption says "the entries reported in this table
 * are the best ones across the backbone ResNet-18/-34 and learning rates", and the paper's own
 * numbers show it: Table 1's G-ResNet D_R column takes natural accuracy 85.46 from G-ResNet-18 but
 * grid775,10° 55.15 from G-ResNet-34 (Table 4); every G-ResNet and STN cell of Table 1 is the
 * per-cell maximum of Tables 3-4 (checked in test/report-best-of.test.ts). Each cell records the
 * run it came from, so a column can mix backbones and learning rates, as the paper's does.
 */
import { trainingColumn, type Augmentation, type TrainingColumn, type TrainingDataset } from './labels.ts';

/** One evaluated quantity: a fraction in [0, 1] as evaluation metrics JSON holds it, and its node. */
export interface Measurement {
  readonly value: number;
  /** The evaluation node (id or key) that wrote the value. */
  readonly node: string;
}

/** A trained Question-3 model with its evaluations. */
export interface Q3Run {
  /** 'ResNet-50' | 'G-ResNet' | 'STN' | 'PTN'. */
  readonly family: string;
  /** 'ResNet-18' | 'ResNet-34' (the ResNet-50 family: 'ResNet-50'). */
  readonly backbone: string;
  /** Initial learning rate. */
  readonly lr: number;
  readonly dataset: TrainingDataset;
  readonly augmentation: Augmentation;
  /** The training node, listed after the evaluation node in each cell's provenance. */
  readonly trainNode?: string;
  /**
   * Accuracy per attack key (`none` = natural accuracy, from any evaluation's naturalAccuracy;
   * `rot10`, `grid775_10`, … = that attack's robustAccuracy). Attacks not evaluated are absent.
   */
  readonly accuracy: Readonly<Record<string, Measurement>>;
}

export interface BestCell {
  /** The cell group the run was selected within (what `groupOf` returned). */
  readonly group: string;
  readonly column: TrainingColumn;
  readonly attack: string;
  /** Fraction in [0, 1]. */
  readonly value: number;
  readonly run: Q3Run;
  readonly node: string;
  /** Other runs that reach exactly the same value (the first in backbone, then lr order wins). */
  readonly tiedWith: readonly Q3Run[];
}

export function runColumn(run: Q3Run): TrainingColumn {
  return trainingColumn(run.dataset, run.augmentation);
}

export function describeRun(run: Q3Run): string {
  return `${run.backbone}, lr ${run.lr}`;
}

function checkRun(run: Q3Run, i: number): void {
  const where = `Q3 run ${i} (${run.family} ${run.backbone} lr ${run.lr} ${run.dataset} ${run.augmentation})`;
  if (!(typeof run.lr === 'number' && Number.isFinite(run.lr) && run.lr > 0)) throw new Error(`${where}: lr must be a positive number`);
  runColumn(run);
  for (const [attack, m] of Object.entries(run.accuracy)) {
    if (!(typeof m?.value === 'number' && Number.isFinite(m.value) && m.value >= 0 && m.value <= 1)) {
      throw new Error(`${where}: accuracy['${attack}'] must be a fraction in [0, 1], got ${String(m?.value)}`);
    }
    if (typeof m.node !== 'string' || m.node === '') throw new Error(`${where}: accuracy['${attack}'] has no node`);
  }
}

const runOrder = (a: Q3Run, b: Q3Run) => a.family.localeCompare(b.family) || a.backbone.localeCompare(b.backbone) || b.lr - a.lr;

/**
 * For each group (default: family and training column) and attack, the run with the highest
 * accuracy. `groupOf` lets Tables 3-4 select within (family, backbone, column), i.e. over learning
 * rates only. Two runs with the same family, backbone, lr, dataset and augmentation are an error:
 * the table could not say which one it shows.
 */
export function selectBestPerCell(runs: readonly Q3Run[], groupOf: (run: Q3Run) => string = (run) => `${run.family}/${runColumn(run)}`): BestCell[] {
  runs.forEach(checkRun);
  const identity = new Map<string, number>();
  runs.forEach((run, i) => {
    const id = `${run.family}|${run.backbone}|${run.lr}|${run.dataset}|${run.augmentation}`;
    const j = identity.get(id);
    if (j !== undefined) throw new Error(`Q3 runs ${j} and ${i} are the same setting (${id.replace(/\|/g, ', ')})`);
    identity.set(id, i);
  });
  const byGroup = new Map<string, Q3Run[]>();
  for (const run of [...runs].sort(runOrder)) {
    const g = groupOf(run);
    const list = byGroup.get(g);
    if (list) list.push(run);
    else byGroup.set(g, [run]);
  }
  const out: BestCell[] = [];
  for (const [group, list] of byGroup) {
    const columns = new Set(list.map(runColumn));
    if (columns.size !== 1) throw new Error(`Q3 selection group '${group}' mixes training columns ${[...columns].join(', ')}`);
    const attacks = [...new Set(list.flatMap((r) => Object.keys(r.accuracy)))].sort();
    for (const attack of attacks) {
      let best: Q3Run | undefined;
      for (const run of list) {
        const m = run.accuracy[attack];
        if (m && (best === undefined || m.value > best.accuracy[attack]!.value)) best = run;
      }
      const m = best!.accuracy[attack]!;
      out.push({
        group,
        column: runColumn(best!),
        attack,
        value: m.value,
        run: best!,
        node: m.node,
        tiedWith: list.filter((r) => r !== best && r.accuracy[attack]?.value === m.value),
      });
    }
  }
  return out;
}
