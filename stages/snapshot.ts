import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { snapshotFileName } from './train.ts';

/**
 * One training snapshot as an artifact of its own, so evaluations hang off each step and two
 * snapshots with identical weights share their evaluations.
 */
export const snapshot = defineStage({
  name: 'snapshot',
  version: 1,
  module: import.meta.url,
  description: 'extract the weights saved after a given training step',
  params: z.object({ step: z.number().int().min(0) }).strict(),
  inputs: { snapshots: { kind: 'dir', description: 'a train node’s snapshots folder' } },
  outputs: { model: { kind: 'file' } },
  estimateSeconds: () => 1,
  async run(ctx) {
    const { copyFileSync, existsSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const from = join(ctx.inputs.snapshots, snapshotFileName(ctx.params.step));
    if (!existsSync(from)) {
      const have = readdirSync(ctx.inputs.snapshots)
        .map((f) => Number(/step-(\d+)/.exec(f)?.[1]))
        .filter(Number.isFinite);
      throw new Error(`snapshot: no snapshot after step ${ctx.params.step}; the training run saved steps ${have.join(', ') || '(none)'}`);
    }
    copyFileSync(from, ctx.outputs.model);
    return { metrics: { step: ctx.params.step } };
  },
});
