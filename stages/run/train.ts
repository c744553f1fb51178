import { copyFileSync, existsSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { pgdBatch } from '../../ml/attacks/pgd.ts';
import { augmentSpec } from '../../ml/augment/standard.ts';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { stepsPerEpoch } from '../../ml/data/batch-source.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
import { datasetSource, mixSource } from '../../ml/data/sources.ts';
import { createModel } from '../../ml/models/registry.ts';
import { saveModelAsync } from '../../ml/models/serialize.ts';
import { appendHistory, historyByEpoch } from '../../ml/train/history.ts';
import { train as trainLoop } from '../../ml/train/trainer.ts';
import type { TrainContext } from '../train.ts';
import { snapshotFileName } from './snapshot-file.ts';

export async function runTrain(ctx: TrainContext): Promise<StageResult> {
  const p = ctx.params;
  ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
  const D = openDataset(ctx.inputs.data);
  if (p.alpha > 0 && ctx.inputs.robust === undefined) throw new Error(`train: alpha=${p.alpha} needs a robust dataset input`);
  const augment = augmentSpec(p.augment);
  const source =
    p.alpha > 0 && ctx.inputs.robust !== undefined
      ? mixSource(D, openDataset(ctx.inputs.robust), p.alpha, { batchSize: p.batchSize, seed: p.seed, augment })
      : datasetSource(D, { batchSize: p.batchSize, seed: p.seed, augment });
  const perEpoch = stepsPerEpoch(source);
  const totalSteps = Math.max(1, Math.round(p.epochs * perEpoch));
  const late = p.snapshotSteps.filter((s) => s > totalSteps);
  if (late.length > 0) throw new Error(`train: snapshot steps ${late.join(', ')} lie beyond the run's ${totalSteps} updates`);

  const model = createModel(p.model, p.seed);
  const snapDir = join(ctx.scratchDir, 'snapshots');
  mkdirSync(snapDir, { recursive: true });
  const historyPath = join(ctx.scratchDir, 'history.jsonl');
  const adv = p.adversarial;
  const perturb = adv
    ? (m: typeof model, x: Tensor4D, y: Tensor1D) => {
        const r = pgdBatch(m, x, y, { norm: 'l2', eps: adv.eps, step: adv.step, iterations: adv.iterations });
        r.loss.dispose();
        return r.adversarial;
      }
    : undefined;

  const result = await trainLoop({
    model,
    data: source,
    schedule: p.lr,
    sgd: { momentum: p.momentum, weightDecay: p.weightDecay },
    totalSteps,
    snapshotSteps: p.snapshotSteps,
    onSnapshot: (step, m) => saveModelAsync(m, join(snapDir, snapshotFileName(step))),
    checkpoint: { path: join(ctx.scratchDir, 'checkpoint.bin'), everySteps: p.checkpointEvery },
    ...(perturb ? { perturb } : {}),
    runKey: ctx.nodeKey,
    onEpoch: (e) => {
      appendHistory(historyPath, e);
      ctx.series('epoch', e.epoch, { loss: e.loss, accuracy: e.accuracy, lr: e.lr, imagesPerSecond: e.imagesPerSecond });
    },
    onProgress: ctx.progress,
  });
  if (result.resumedFrom !== null) ctx.log(`resumed from step ${result.resumedFrom}`);

  await saveModelAsync(model, ctx.outputs.model);
  // The worker may run another node next: leave no variables behind.
  model.dispose();
  mkdirSync(ctx.outputs.snapshots, { recursive: true });
  for (const step of p.snapshotSteps) {
    const name = snapshotFileName(step);
    const from = join(snapDir, name);
    if (!existsSync(from)) throw new Error(`train: snapshot ${name} was not written`);
    try {
      linkSync(from, join(ctx.outputs.snapshots, name));
    } catch {
      copyFileSync(from, join(ctx.outputs.snapshots, name));
    }
  }
  // Epochs finished before a resume are in the scratch log too; keep the last record per epoch.
  // Throughput stays in the run's series (SQLite): in the artifact it would make the same
  // training give different bytes on every run, so nothing downstream could stop at "unchanged".
  const epochs = historyByEpoch(historyPath).map(({ imagesPerSecond: _timing, ...rest }) => rest);
  writeFileAtomic(ctx.outputs.history, `${JSON.stringify({ totalSteps, stepsPerEpoch: perEpoch, epochs }, null, 1)}\n`);
  const last = epochs.at(-1) as { loss?: number; accuracy?: number } | undefined;
  return { metrics: { steps: totalSteps, stepsPerEpoch: perEpoch, trainLoss: last?.loss ?? null, trainAccuracy: last?.accuracy ?? null } };
}
