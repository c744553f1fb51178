/**
 * A model's grid evaluations one after another in one process (as a worker runs them), without
 * and then with the prediction memo (ml/attacks/prediction-memo.ts): seconds and pairs forwarded
 * per attack, the total ratio, and whether every figure came out the same both ways (it must).
 *   npx tsx bench/memo-sequence.ts <test set file> <model file> [attack ...]
 * Default attacks: the demo's Table 1 order, grid775 grid775_10 grid135 rot30 rot10 none; 100
 * test images (the demo's subset), batches of 100.
 */
import { isDeepStrictEqual } from 'node:util';
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import { modelCache } from '../ml/models/model-cache.ts';
import { evaluateAttack, type EvaluationResult } from '../ml/attacks/evaluate.ts';
import { PredictionMemo } from '../ml/attacks/prediction-memo.ts';
import { selectSubset } from '../ml/attacks/subset.ts';
import { type ATTACK_PRESETS, attackPreset } from '../ml/attacks/config.ts';

const [dataFile, modelFile, ...given] = process.argv.slice(2);
if (!dataFile || !modelFile) throw new Error('usage: memo-sequence.ts <test set> <model> [attack ...]');
const names = (given.length > 0 ? given : ['grid775', 'grid775_10', 'grid135', 'rot30', 'rot10', 'none']) as Array<keyof typeof ATTACK_PRESETS>;
const info = await initBackendFromEnv(() => {});
const set = openDataset(dataFile);
const model = modelCache.load(modelFile);
const indices = selectSubset(set.count, Math.min(100, set.count), 0);
const totals: number[] = [];
const results: Array<Array<Omit<EvaluationResult, 'gridComputed'>>> = [];
for (const useMemo of [false, true]) {
  const memo = new PredictionMemo();
  let total = 0;
  const kept: Array<Omit<EvaluationResult, 'gridComputed'>> = [];
  for (const name of names) {
    const t = performance.now();
    const r = await evaluateAttack(model, set, attackPreset(name), { indices, batchSize: 100, ...(useMemo ? { memo: { memo, scope: 'model' } } : {}) });
    const s = (performance.now() - t) / 1000;
    total += s;
    const { gridComputed, ...figures } = r;
    kept.push(figures);
    console.log(
      `${useMemo ? 'memo   ' : 'no memo'} ${name.padEnd(10)} ${s.toFixed(2).padStart(6)} s  pairs ${r.gridEvaluations ?? 0}, forwarded ${gridComputed ?? 0}`,
    );
  }
  totals.push(total);
  results.push(kept);
}
console.log(
  `${info.name}, ${info.threads} thread(s): ${totals[0]!.toFixed(1)} s without the memo, ${totals[1]!.toFixed(1)} s with it (${(totals[1]! / totals[0]!).toFixed(2)}x)`,
);
console.log(`figures identical both ways: ${isDeepStrictEqual(results[0], results[1]) ? 'yes' : 'NO'}`);
