/**
 * Question 3 (Tables 1-4): every family's backbones trained on D and D_R with std and std*, at each
 * learning rate, evaluated under every spatial attack. Table 1 keeps the best run per cell; Tables
 * 2-4 list PTN's, STN's and G-ResNet's runs.
 */
import type { NodeRef } from '../engine/core/project.ts';
import { nodeId } from './naming.ts';
import { table, type TableCellSpec } from '../stages/table.ts';
import { train } from '../stages/train.ts';
import { ref, type GraphBuilder } from './builder.ts';
import { addEvaluation, modelConfig, trainParams, type DataNodes } from './data.ts';
import { trainSettingsFor, type Profile } from './profile.ts';
import type { ProfileInfo } from '../report/profile.ts';

type Family = TableCellSpec['family'];

const TABLES: ReadonlyArray<{ id: 'table1' | 'table2' | 'table3' | 'table4'; families: readonly Family[] }> = [
  { id: 'table1', families: ['ResNet-50', 'G-ResNet', 'STN', 'PTN'] },
  { id: 'table2', families: ['PTN'] },
  { id: 'table3', families: ['STN'] },
  { id: 'table4', families: ['G-ResNet'] },
];

/** One Q3 training run: the cell coordinates Table 1 reads it under, and its weights. */
export interface Q3Run {
  readonly family: Family;
  readonly backbone: string;
  readonly lr: number;
  readonly dataset: TableCellSpec['dataset'];
  readonly augmentation: TableCellSpec['augmentation'];
  readonly model: NodeRef;
}

/** The models Q3 adds: Table 1's runs, in its order (every family's). */
export interface Q3Models {
  readonly runs: readonly Q3Run[];
}

export function addQ3(b: GraphBuilder, p: Profile, data: DataNodes, info: ProfileInfo): Q3Models {
  const q = p.q3;
  const cells = new Map<Family, { cell: TableCellSpec; evalNode: string }[]>();
  for (const [family, spec] of Object.entries(q.families) as [Family, NonNullable<Profile['q3']['families'][Family]>][]) {
    const list: { cell: TableCellSpec; evalNode: string }[] = [];
    for (const { name: backbone, model: entry, train: own } of spec.backbones) {
      for (const dataset of q.datasets) {
        for (const augmentation of q.augmentations) {
          for (const lr of spec.lrs) {
            const run = b.naming.q3Run({ family, backbone, dataset, augmentation, lr });
            const trained = b.add({
              id: nodeId('train', run),
              stage: train,
              paramsSource: `q3.families.${family}`,
              params: trainParams(trainSettingsFor(q.train, own), modelConfig(entry, data), { augment: augmentation, lr }),
              inputs: { data: dataset === 'D' ? data.train : data.robust() },
            });
            for (const attack of q.attacks) {
              const ev = addEvaluation(b, p, data, run, ref(trained, 'model'), attack);
              list.push({ cell: { family, backbone, lr, dataset, augmentation, attack, trainNode: trained, evalNode: ev }, evalNode: ev });
            }
          }
        }
      }
    }
    cells.set(family, list);
  }
  for (const t of TABLES) {
    const entries = t.families.flatMap((f) => cells.get(f) ?? []);
    if (entries.length === 0) continue;
    const id = b.add({
      id: `table@${t.id}`,
      stage: table,
      paramsSource: 'q3',
      params: { table: t.id, profile: info, cells: entries.map((e) => e.cell) },
      inputs: { evals: entries.map((e) => ref(e.evalNode, 'result')), trainSet: data.train, testSet: data.test },
    });
    b.group(t.id, [id]);
  }
  const runs = new Map<string, Q3Run>();
  for (const { cell: c } of TABLES[0]!.families.flatMap((f) => cells.get(f) ?? [])) {
    if (!runs.has(c.trainNode))
      runs.set(c.trainNode, {
        family: c.family,
        backbone: c.backbone,
        lr: c.lr,
        dataset: c.dataset,
        augmentation: c.augmentation,
        model: ref(c.trainNode, 'model'),
      });
  }
  return { runs: [...runs.values()] };
}
