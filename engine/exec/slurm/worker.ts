import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recordLoadedCode } from '../../run/code-check.ts';
import { importProjectModule, isCompiledWorker } from '../../fast-start/preloaded-projects.ts';
import type { Project } from '../../core/project.ts';
import { runStage } from '../../run/stage-runner.ts';
import { BlobStore, type ArtifactRef } from '../../state/store.ts';
import { jobFiles, readManifest, writeJsonAtomic, type InputRef, type TaskResult } from './task-manifest.ts';
import type { NodeTask, WorkerMessage } from '../../run/worker-protocol.ts';

/**
 * The batch job's side of the Slurm executor: `node --import tsx slurm-worker.ts <job folder>`.
 * It reads the task manifest, materialises and rehashes its inputs by digest, runs the stage (in
 * this process, through the same runStage as a local worker), moves the outputs from a staging
 * folder named after this host and process into the blob store, and writes the result file last.
 * It never touches SQLite: the driver verifies the output digests and registers them, or not.
 */

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: slurm-worker.ts <job folder>\n');
  process.exit(64);
}
const files = jobFiles(dir);
const started = Date.now();
const jobId = process.env['SLURM_JOB_ID'];

function emit(m: WorkerMessage): void {
  // One line per event; the driver tails this file while it polls the queue.
  appendFileSync(files.events, `${JSON.stringify(m)}\n`);
}

async function inputPath(store: BlobStore, name: string, r: InputRef): Promise<string> {
  const check = await store.verify(r);
  if (check.state !== 'ok') throw new Error(`input '${name}' (blob ${r.digest.slice(0, 12)}) is ${check.state} on ${hostname()}`);
  return store.materialize(r);
}

async function main(): Promise<TaskResult> {
  const manifest = await readManifest(files.manifest);
  Object.assign(process.env, manifest.env);
  // Without cgroups a job sees every core of its node; kernels should use the CPUs it was given.
  const cpus = process.env['SLURM_CPUS_PER_TASK'];
  if (cpus !== undefined && process.env['OMP_NUM_THREADS'] === undefined) process.env['OMP_NUM_THREADS'] = cpus;
  const store = new BlobStore(manifest.artifactsDir);
  const inputs: Record<string, string | string[] | undefined> = {};
  for (const [name, refs] of Object.entries(manifest.inputRefs)) {
    if (refs === undefined) inputs[name] = undefined;
    else if (Array.isArray(refs)) inputs[name] = await Promise.all((refs as readonly InputRef[]).map((r, i) => inputPath(store, `${name}[${i}]`, r)));
    else inputs[name] = await inputPath(store, name, refs as InputRef);
  }
  const staging = await store.stagingDir(`j${jobId ?? 'nojob'}-${manifest.task.nodeId}`);
  const outputs = Object.fromEntries(Object.keys(manifest.outputKinds).map((name) => [name, join(staging, name)]));
  const task: NodeTask = { ...manifest.task, inputs, outputs };
  const mod = (await importProjectModule(task.projectModule)) as { project?: Project };
  if (mod.project === undefined) throw new Error(`${task.projectModule} does not export 'project'`);
  // The code this job loaded, checked against the node's key (a job may start long after planning).
  recordLoadedCode(mod.project);
  emit({ type: 'environment', facts: { worker: isCompiledWorker() ? 'compiled' : 'tsx' } });
  const metrics = await runStage(mod.project, task, emit);
  const stored: Record<string, ArtifactRef> = {};
  for (const [name, kind] of Object.entries(manifest.outputKinds)) stored[name] = await store.ingest(outputs[name]!, kind);
  await rm(staging, { recursive: true, force: true });
  return {
    format: 1,
    status: 'succeeded',
    outputs: stored,
    ...(metrics !== undefined ? { metrics: { ...metrics } } : {}),
    host: hostname(),
    pid: process.pid,
    ...(jobId !== undefined ? { jobId } : {}),
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
  };
}

main().then(
  async (result) => {
    await writeJsonAtomic(files.result, result);
    process.exit(0);
  },
  async (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`${err.stack ?? err.message}\n`);
    const result: TaskResult = {
      format: 1,
      status: 'failed',
      error: err.stack ?? err.message,
      host: hostname(),
      pid: process.pid,
      ...(jobId !== undefined ? { jobId } : {}),
      startedAt: new Date(started).toISOString(),
      durationS: (Date.now() - started) / 1000,
    };
    await writeJsonAtomic(files.result, result).catch(() => {});
    process.exit(1);
  },
);
