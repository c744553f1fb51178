import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * CIFAR-10 (D): downloaded from the official URL (resumable, size and MD5 checked), or read from a
 * local tarball or folder, then converted to our dataset format, one artifact per split.
 */
/** URL, local tarball or folder; null means $RF_CIFAR10, else the official URL. */
export const cifar10Source = z.string().min(1).nullable();

const fetchCifar10Params = z
  .object({
    source: cifar10Source,
    /** Accept a copy with fewer records per batch or fewer train batch files (params.yaml data.partial). */
    partial: z.boolean().optional(),
  })
  .strict();
const inputs = {} as const;
const outputs = { train: { kind: 'file' }, test: { kind: 'file' } } as const;

/** What the run code (stages/run/fetch-cifar10.ts) is handed. */
export type FetchCifar10Context = StageContext<z.output<typeof fetchCifar10Params>, typeof inputs, typeof outputs>;

export const fetchCifar10 = defineStage({
  name: 'fetch-cifar10',
  version: 1,
  module: import.meta.url,
  description: 'CIFAR-10 train and test splits from the official tarball, a local tarball, or a folder',
  params: fetchCifar10Params,
  inputs,
  outputs,
  estimateSeconds: () => 120,
  run: async (ctx) => (await import('./run/fetch-cifar10.ts')).runFetchCifar10(ctx),
});
