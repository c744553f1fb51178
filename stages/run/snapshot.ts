import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StageResult } from '../../engine/core/stage.ts';
import type { SnapshotContext } from '../snapshot.ts';
import { snapshotFileName } from './snapshot-file.ts';

export function runSnapshot(ctx: SnapshotContext): StageResult {
  const from = join(ctx.inputs.snapshots, snapshotFileName(ctx.params.step));
  if (!existsSync(from)) {
    const have = readdirSync(ctx.inputs.snapshots)
      .map((f) => Number(/step-(\d+)/.exec(f)?.[1]))
      .filter(Number.isFinite);
    throw new Error(`snapshot: no snapshot after step ${ctx.params.step}; the training run saved steps ${have.join(', ') || '(none)'}`);
  }
  copyFileSync(from, ctx.outputs.model);
  return { metrics: { step: ctx.params.step } };
}
