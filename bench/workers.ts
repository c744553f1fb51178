/**
 * What a node pays before its stage computes anything, with one process per node (`--isolate`,
 * the old default: a spare worker boots tsx, tfjs, the backend and the model code while the
 * previous node runs) against persistent workers (booted once; the evaluated model stays loaded,
 * keyed by its digest). The nodes are real `evaluate` nodes of the robustfeat project on a demo
 * sized model (ResNet-18 at width 1/8, 100 test images, one attack each, as in the demo profile),
 * run one after another, the two modes interleaved in the same run.
 *
 *   npm run bench:workers [-- --nodes 8] [--rounds 2]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadedCode } from '../engine/run/code-check.ts';
import { freshCompiledWorker } from '../engine/fast-start/compiled-worker.ts';
import { LocalExecutor } from '../engine/exec/local.ts';
import type { NodeTask } from '../engine/run/worker-protocol.ts';
import { project } from '../experiments/project.ts';
import { writeDataset } from '../ml/data/dataset-file.ts';
import { createModel } from '../ml/models/registry.ts';
import { saveModel } from '../ml/models/serialize.ts';
import { Rng } from '../ml/random.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} takes a positive integer`);
  return v;
}
const nodes = arg('nodes', 8);
const rounds = arg('rounds', 2);
const dir = mkdtempSync(join(tmpdir(), 'rf-bench-workers-'));

try {
  await tf.setBackend('cpu');
  const rng = new Rng(1);
  const count = 100;
  const pixels = new Uint8Array(count * 32 * 32 * 3).map(() => rng.int(256));
  const data = join(dir, 'test.rfds');
  writeDataset(
    data,
    { height: 32, width: 32, channels: 3, numClasses: 10, dtype: 'uint8' },
    pixels,
    Array.from({ length: count }, () => rng.int(10)),
  );
  const modelPath = join(dir, 'model.rfmodel');
  const model = createModel({ arch: 'resnet18', width: 0.125, blocks: [1, 1, 1, 1], numClasses: 10, inputSize: 32 }, 1);
  saveModel(model, modelPath);
  model.dispose();

  const attacks = ['none', 'rot10', 'rot30'] as const;
  let n = 0;
  const evaluate = project.stages.find((s) => s.name === 'evaluate')!;
  const codeDigest = loadedCode(project).of(evaluate.module).digest;
  const task = (i: number): NodeTask => ({
    projectModule: project.module,
    stage: 'evaluate',
    nodeId: `evaluate@bench-${n}`,
    nodeKey: `bench${n++}`,
    codeDigest,
    params: evaluate.params.parse({ attack: attacks[i % attacks.length], count, batchSize: 100 }),
    inputs: { model: modelPath, data },
    outputs: { result: join(dir, `result-${n}.json`) },
    scratchDir: join(dir, `scratch-${n}`),
  });

  const results = new Map<string, Set<string>>();
  /** Seconds per node after the first (the first boots a worker in both modes). */
  async function measure(isolate: boolean, compiledWorker: boolean): Promise<number[]> {
    const e = new LocalExecutor({ projectModule: project.module, isolate, compiledWorker, env: { RF_THREADS: '1' } });
    try {
      const times: number[] = [];
      for (let i = 0; i <= nodes; i++) {
        const t = performance.now();
        const nodeTask = task(i);
        const o = await e.execute(nodeTask, () => {}).outcome;
        if (!o.ok) throw new Error(o.error);
        if (i > 0) times.push((performance.now() - t) / 1000);
        const attack = String((nodeTask.params as { attack: string }).attack);
        const bytes = readFileSync(nodeTask.outputs['result'] as string, 'utf8');
        if (!results.has(attack)) results.set(attack, new Set());
        results.get(attack)!.add(bytes);
      }
      return times;
    } finally {
      e.close();
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // The compiled worker (npm run build) where one is built and fresh; the tsx worker beside it.
  const compiled = freshCompiledWorker(project.module) !== undefined;
  const all = { isolate: [] as number[], persistent: [] as number[], isolateTsx: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    all.isolate.push(...(await measure(true, compiled)));
    all.persistent.push(...(await measure(false, compiled)));
    if (compiled) all.isolateTsx.push(...(await measure(true, false)));
  }
  const [iso, per] = [median(all.isolate), median(all.persistent)];
  const kind = compiled ? 'compiled worker' : 'tsx worker; no fresh compiled one (npm run build)';
  console.log(`evaluate nodes (ResNet-18 w1/8, ${count} images, 1 thread), ${nodes} per mode x ${rounds} rounds, median wall seconds per node (${kind}):`);
  console.log(`  one process per node (--isolate, spare worker): ${iso.toFixed(3)} s`);
  console.log(`  persistent worker (model kept by digest):       ${per.toFixed(3)} s`);
  console.log(`  ratio ${(iso / per).toFixed(2)}x; overhead removed ${(iso - per).toFixed(3)} s per node`);
  if (compiled) {
    const tsx = median(all.isolateTsx);
    console.log(`  --isolate with the tsx worker instead:         ${tsx.toFixed(3)} s (compiled/tsx ${(iso / tsx).toFixed(2)}x)`);
  }
  const same = [...results.values()].every((v) => v.size === 1);
  console.log(`results identical in every mode: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
