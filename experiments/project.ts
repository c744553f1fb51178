/**
 * The robustfeat project: the paper's three questions as one graph per params.yaml profile.
 * Groups: table1-table4 (Q3), fig1-fig2 (Q1), fig3 (Q2), dr / dnr (the datasets), truth (ground
 * truth on synthetic data), all.
 */
import { availableParallelism } from 'node:os';
import type { BuildContext, Graph, Project } from '../engine/core/project.ts';
import type { ProfileInfo } from '../report/profile.ts';
import { buildDnr } from '../stages/build-dnr.ts';
import { buildDr } from '../stages/build-dr.ts';
import { evaluate } from '../stages/evaluate.ts';
import { fetchCifar10 } from '../stages/fetch-cifar10.ts';
import { fetchRobustDatasets } from '../stages/fetch-robust-datasets.ts';
import { figure } from '../stages/figure.ts';
import { snapshot } from '../stages/snapshot.ts';
import { syntheticDataset } from '../stages/synthetic-dataset.ts';
import { subsetDataset } from '../stages/subset-dataset.ts';
import { modelNotes } from './model-notes.ts';
import { table } from '../stages/table.ts';
import { train } from '../stages/train.ts';
import { datasetQuality } from '../stages/dataset-quality.ts';
import { groundTruth } from '../stages/ground-truth.ts';
import { probe } from '../stages/probe.ts';
import { GraphBuilder } from './builder.ts';
import { NAMING, type Naming } from './naming.ts';
import { addData, describeRun } from './data.ts';
import { withEstimateHints } from './estimate-hints.ts';
import { profileSchema, type Profile } from './profile.ts';
import { addQ1 } from './q1.ts';
import { addQ2 } from './q2.ts';
import { addQ3 } from './q3.ts';
import { addTruth } from './truth.ts';
import { BACKEND_ENV, parseBackendChoice } from '../ml/backend/choice.ts';
import { MEASURED_SLOWDOWN, plannedBackend, slowBackendWarning } from '../ml/backend/planned.ts';
import { NATIVE_ADDON_MODULE, nativeSourceFiles } from '../ml/backend/native/addon.ts';

export const project: Project<Profile> = {
  name: 'robustfeat',
  module: import.meta.url,
  stages: [
    fetchCifar10,
    fetchRobustDatasets,
    syntheticDataset,
    subsetDataset,
    train,
    snapshot,
    evaluate,
    buildDr,
    buildDnr,
    table,
    figure,
    probe,
    datasetQuality,
    groundTruth,
  ],
  profileSchema,
  defaultProfile: 'demo',
  build: (p, name, overrides = [], context) => buildGraph(p, name, overrides, context),
  extraCode(closureFiles) {
    // A stage that can load the native addon computes with its C++ kernels: a kernel fix must rerun it.
    return closureFiles.includes(NATIVE_ADDON_MODULE) ? nativeSourceFiles() : [];
  },
  defaultJobs: (p) => p.jobs,
  executorSettings: (p) => ({ executor: p.executor, slurm: p.slurm }),
  workerEnv(jobs): Record<string, string> {
    // Parallel nodes share the cores: without this each would start a thread per core, and
    // oversubscribed OpenMP barriers stall. An explicit RF_THREADS or OMP_NUM_THREADS wins.
    if (jobs <= 1 || process.env.RF_THREADS !== undefined || process.env.OMP_NUM_THREADS !== undefined) return {};
    return { RF_THREADS: String(Math.max(1, Math.floor(availableParallelism() / jobs))) };
  },
  estimateContext() {
    // Nodes calibrate on measurements made with the backend this run will use.
    return `backend=${plannedBackend(parseBackendChoice(process.env[BACKEND_ENV] ?? 'auto', BACKEND_ENV))}`;
  },
  runBanner() {
    return slowBackendWarning(parseBackendChoice(process.env[BACKEND_ENV] ?? 'auto', BACKEND_ENV));
  },
  async warmup() {
    // tfjs, the backend (native library load, kernel registration) and the model code take about
    // two seconds to load; a spare worker does it while the previous node runs.
    const { initBackendFromEnv } = await import('../ml/backend/from-env.ts');
    await initBackendFromEnv(() => {});
    await Promise.all([import('../ml/models/registry.ts'), import('../ml/attacks/evaluate.ts'), import('../ml/train/trainer.ts')]);
  },
  async workerState() {
    // The model the evaluate stage keeps for the next evaluation of the same model is not a leak.
    const { tensorEngineState } = await import('../ml/backend/engine-state.ts');
    const { modelCache } = await import('../ml/models/model-cache.ts');
    return tensorEngineState(modelCache.held());
  },
  async resetWorker() {
    const { resetBackendCaches } = await import('../ml/backend/engine-state.ts');
    resetBackendCaches();
  },
};

/** One profile's graph, its nodes named by `naming` (docs/naming.md). */
export function buildGraph(p: Profile, name: string, overrides: readonly string[] = [], context?: BuildContext, naming: Naming = NAMING): Graph {
  // --backend (set before this runs) wins over the profile; node processes inherit the variable.
  process.env[BACKEND_ENV] ??= p.backend;
  const asRun = describeRun(p, overrides);
  const b = new GraphBuilder(naming);
  const data = addData(b, p, context?.root ?? process.cwd());
  const notes = [...data.notes, ...modelNotes(p, data)];
  const info: ProfileInfo = {
    name,
    synthetic: p.data.source === 'synthetic',
    ...(p.description ? { description: p.description } : {}),
    ...(asRun ? { asRun } : {}),
    notes,
  };
  const q1 = addQ1(b, p, data, info);
  const q2 = addQ2(b, p, data, info);
  const q3 = addQ3(b, p, data, info);
  addTruth(b, p, data, info, { q1, q2, q3 });
  const reports = ['table1', 'table2', 'table3', 'table4', 'fig1', 'fig2', 'fig3', 'truth'].flatMap((g) => b.groups[g] ?? []);
  b.group('all', [...reports, ...(b.groups['dnr'] ?? [])]);
  const planned = plannedBackend(parseBackendChoice(process.env[BACKEND_ENV], BACKEND_ENV));
  const slowdown = planned === 'wasm' || planned === 'cpu' ? MEASURED_SLOWDOWN[planned] : 1;
  return { nodes: withEstimateHints(b.nodes, { trainCount: data.trainCount, testCount: data.testCount, slowdown }), groups: b.groups };
}
