/**
 * The real depth and widths behind every paper model name a profile uses ("ResNet-34" in the
 * demo is a one-block-per-stage, eighth-width network): one line per name for the reports.
 */
import { modelConfigSchema } from '../ml/models/config.ts';
import { describeModel } from '../ml/models/cost.ts';
import { modelConfig, type DataNodes } from './data.ts';
import type { ModelEntry, Profile } from './profile.ts';

export function modelNotes(p: Profile, data: Pick<DataNodes, 'numClasses' | 'inputSize'>): string[] {
  const lines = new Map<string, string>();
  const add = (where: string, name: string, entry: ModelEntry) => {
    // An invalid entry gets no note: the graph check that follows refuses it, naming its params.yaml key.
    const cfg = modelConfigSchema.safeParse(modelConfig(entry, data));
    if (!cfg.success) return;
    const line = `${where} "${name}" is ${describeModel(cfg.data)}.`;
    lines.set(line, line);
  };
  add('Q1', p.q1.model.arch === 'resnet34' ? 'ResNet-34' : p.q1.model.arch, p.q1.model);
  for (const m of p.q2.models) add('Q2', m.name, m.model);
  for (const [family, f] of Object.entries(p.q3.families)) {
    for (const bb of f?.backbones ?? []) add('Q3', `${family} ${bb.name}`, bb.model);
  }
  return [...lines.values()];
}
