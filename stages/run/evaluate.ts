import type { StageResult } from '../../engine/core/stage.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { attackPreset, describeAttack } from '../../ml/attacks/config.ts';
import { evaluateAttack } from '../../ml/attacks/evaluate.ts';
// The labels its grid attacks computed stay in the worker, for the next grid attack on the same model.
import { predictionMemo } from '../../ml/attacks/prediction-memo.ts';
import { selectSubset } from '../../ml/attacks/subset.ts';
import { initBackendFromEnv } from '../../ml/backend/from-env.ts';
import { openDataset } from '../../ml/data/dataset-file.ts';
// The last model loaded stays in the worker for the next node that reads the same bytes.
import { modelCache } from '../../ml/models/model-cache.ts';
import type { EvaluateContext } from '../evaluate.ts';

export async function runEvaluate(ctx: EvaluateContext): Promise<StageResult> {
  const p = ctx.params;
  ctx.environment({ backend: await initBackendFromEnv(ctx.log) });
  const attack = typeof p.attack === 'string' ? attackPreset(p.attack) : p.attack;
  const set = openDataset(ctx.inputs.data);
  const model = modelCache.load(ctx.inputs.model);
  if (p.count !== undefined && p.count > set.count) {
    throw new Error(`evaluate: count ${p.count} exceeds the test set's ${set.count} images`);
  }
  const indices = selectSubset(set.count, p.count, p.subsetSeed);
  const digest = modelCache.digestOf(model);
  const r = await evaluateAttack(model, set, attack, {
    indices,
    batchSize: p.batchSize,
    seed: p.seed,
    onProgress: ctx.progress,
    ...(digest !== undefined ? { memo: { memo: predictionMemo, scope: digest } } : {}),
  });
  if (r.gridComputed !== undefined && r.gridEvaluations !== undefined && r.gridComputed < r.gridEvaluations) {
    ctx.log(`${r.gridEvaluations - r.gridComputed} of ${r.gridEvaluations} grid pairs were known from an earlier attack on this model`);
  }
  const figures = {
    attack: describeAttack(attack),
    config: attack,
    count: r.count,
    naturalAccuracy: r.naturalAccuracy,
    robustAccuracy: r.robustAccuracy,
    asr: r.asr,
    fooled: r.fooled,
    ...(r.meanPerturbationL2 !== undefined ? { meanPerturbationL2: r.meanPerturbationL2 } : {}),
    ...(r.meanPerturbationLInf !== undefined ? { meanPerturbationLInf: r.meanPerturbationLInf } : {}),
    ...(r.gridEvaluations !== undefined ? { gridEvaluations: r.gridEvaluations } : {}),
  };
  // Per image (in the order of `indices`), 1 where it stayed right: lets a report compare two
  // attacks image by image (Q2's defence check: what PGD breaks and AutoAttack does not).
  const perImage = { subset: { count: p.count ?? null, subsetSeed: p.subsetSeed }, robustMask: Array.from(r.robustCorrectMask).join('') };
  const extra = r.brokenBy !== undefined ? { brokenBy: r.brokenBy } : {};
  writeFileAtomic(ctx.outputs.result, `${JSON.stringify({ ...figures, ...extra, perClass: r.perClass, ...perImage }, null, 1)}\n`);
  return { metrics: { ...figures, ...extra } };
}
