import { z } from 'zod';
import { defineStage, type StageContext } from '../engine/core/stage.ts';

/**
 * One training snapshot as an artifact of its own, so evaluations hang off each step and two
 * snapshots with identical weights share their evaluations.
 */
const snapshotParams = z.object({ step: z.number().int().min(0) }).strict();
const inputs = { snapshots: { kind: 'dir', description: 'a train node’s snapshots folder' } } as const;
const outputs = { model: { kind: 'file' } } as const;

/** What the run code (stages/run/snapshot.ts) is handed. */
export type SnapshotContext = StageContext<z.output<typeof snapshotParams>, typeof inputs, typeof outputs>;

export const snapshot = defineStage({
  name: 'snapshot',
  version: 1,
  module: import.meta.url,
  description: 'extract the weights saved after a given training step',
  params: snapshotParams,
  inputs,
  outputs,
  estimateSeconds: () => 1,
  run: async (ctx) => (await import('./run/snapshot.ts')).runSnapshot(ctx),
});
