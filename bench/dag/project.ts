import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { NodeSpec, Project } from '../../engine/core/project.ts';
import { defineStage } from '../../engine/core/stage.ts';
import { nodeId } from '../../engine/plan/sweep.ts';

/**
 * A generated graph shaped like the experiments (datasets x models x attacks + one aggregate) whose
 * stages do almost nothing, so that `repro` measures the engine's own overhead.
 */

const text = async (p: string) => (await readFile(p, 'utf8')).trim();

const dataset = defineStage({
  name: 'dataset',
  version: 1,
  module: import.meta.url,
  description: 'a named dataset',
  params: z.object({ name: z.string() }).strict(),
  inputs: {},
  outputs: { data: { kind: 'file' } },
  async run(ctx) {
    await writeFile(ctx.outputs.data, `dataset ${ctx.params.name}\n`);
  },
});

const train = defineStage({
  name: 'train',
  version: 1,
  module: import.meta.url,
  description: 'a model trained on a dataset',
  params: z.object({ model: z.string() }).strict(),
  inputs: { data: { kind: 'file' } },
  outputs: { model: { kind: 'file' } },
  async run(ctx) {
    await writeFile(ctx.outputs.model, `${ctx.params.model} on ${await text(ctx.inputs.data)}\n`);
  },
});

const attack = defineStage({
  name: 'attack',
  version: 1,
  module: import.meta.url,
  description: 'an attack on a model',
  params: z.object({ attack: z.string() }).strict(),
  inputs: { model: { kind: 'file' } },
  outputs: { metrics: { kind: 'file' } },
  async run(ctx) {
    await writeFile(ctx.outputs.metrics, `${ctx.params.attack} vs ${await text(ctx.inputs.model)}\n`);
  },
});

const aggregate = defineStage({
  name: 'aggregate',
  version: 1,
  module: import.meta.url,
  description: 'one table of everything',
  params: z.object({}).strict(),
  inputs: { results: { kind: 'file', many: true } },
  outputs: { table: { kind: 'dir' } },
  async run(ctx) {
    const rows = await Promise.all(ctx.inputs.results.map(text));
    await writeFile(join(ctx.outputs.table, 'table.txt'), rows.join('\n') + '\n');
  },
});

const profileSchema = z.object({ datasets: z.array(z.string()), models: z.array(z.string()), attacks: z.array(z.string()) }).strict();

export const project: Project<z.infer<typeof profileSchema>> = {
  name: 'dag-bench',
  module: import.meta.url,
  stages: [dataset, train, attack, aggregate],
  profileSchema,
  defaultProfile: 'bench',
  build(p) {
    const nodes: NodeSpec[] = [];
    const results: Array<{ node: string; output: string }> = [];
    for (const d of p.datasets) {
      const dn = nodeId('dataset', [d]);
      nodes.push({ id: dn, stage: dataset, params: { name: d } });
      for (const m of p.models) {
        const tn = nodeId('train', [m, d]);
        nodes.push({ id: tn, stage: train, params: { model: m }, inputs: { data: { node: dn, output: 'data' } } });
        for (const a of p.attacks) {
          const an = nodeId('attack', [a, m, d]);
          nodes.push({ id: an, stage: attack, params: { attack: a }, inputs: { model: { node: tn, output: 'model' } } });
          results.push({ node: an, output: 'metrics' });
        }
      }
    }
    nodes.push({ id: 'aggregate', stage: aggregate, params: {}, inputs: { results } });
    return { nodes, groups: { all: ['aggregate'] } };
  },
};
