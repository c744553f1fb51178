/**
 * One evaluation node's work outside the engine, for profiling (node --cpu-prof):
 * npx tsx bench/eval-node.ts <model file> <test set file> <attack preset> [count] [batchSize]
 */
import { initBackendFromEnv } from '../ml/backend/from-env.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import { modelCache } from '../ml/models/model-cache.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { selectSubset } from '../ml/attacks/subset.ts';
import { attackPreset, type ATTACK_PRESETS } from '../ml/attacks/config.ts';

const [modelFile, dataFile, preset, count = '100', batch = '100'] = process.argv.slice(2);
if (!modelFile || !dataFile || !preset) throw new Error('usage: eval-node.ts <model> <test set> <attack> [count] [batchSize]');
await initBackendFromEnv();
const set = openDataset(dataFile);
const model = modelCache.load(modelFile);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = await evaluateAttack(model, set, attackPreset(preset as keyof typeof ATTACK_PRESETS), {
  indices: selectSubset(set.count, Number(count), 0),
  batchSize: Number(batch),
  seed: 0,
});
// CPU seconds beside wall seconds: on a machine shared with other busy processes the wall time of a
// one-thread run moves with their load, its CPU time much less.
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    robustAccuracy: r.robustAccuracy,
    gridEvaluations: r.gridEvaluations,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  }),
);
