import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';

/**
 * CIFAR-10 (D): downloaded from the official URL (resumable, size and MD5 checked), or read from a
 * local tarball or folder, then converted to our dataset format, one artifact per split.
 */
export const fetchCifar10 = defineStage({
  name: 'fetch-cifar10',
  version: 1,
  module: import.meta.url,
  description: 'CIFAR-10 train and test splits from the official tarball, a local tarball, or a folder',
  params: z
    .object({
      /** URL, local tarball or folder; null means $RF_CIFAR10, else the official URL. */
      source: z.string().min(1).nullable(),
      /** Accept a copy with fewer records per batch or fewer train batch files (params.yaml data.partial). */
      partial: z.boolean().optional(),
    })
    .strict(),
  inputs: {},
  outputs: { train: { kind: 'file' }, test: { kind: 'file' } },
  estimateSeconds: () => 120,
  async run(ctx) {
    const { fetchCifar10: fetch, resolveCifar10Source } = await import('../ml/data/cifar10.ts');
    const source = resolveCifar10Source(ctx.params.source ?? undefined);
    ctx.log(`source: ${source.kind} ${'url' in source ? source.url : source.path}`);
    const r = await fetch({
      source,
      downloadDir: ctx.scratchDir,
      trainPath: ctx.outputs.train,
      testPath: ctx.outputs.test,
      onProgress: ctx.progress,
      ...(ctx.params.partial ? { partial: true } : {}),
    });
    if (ctx.params.partial) ctx.log(`partial copy: ${r.train.count} train and ${r.test.count} test images read`);
    return { metrics: { train: r.train.count, test: r.test.count, provenance: r.provenance } };
  },
});
