import { mkdir, stat } from 'node:fs/promises';
import { checkStageCode } from './code-check.ts';
import type { Project } from '../core/project.ts';
import type { AnyStageContext, Metrics, OutputDecls } from '../core/stage.ts';
import type { NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * Runs one node's stage wherever an executor put it: prepares its folders, gives it a context that
 * reports through `send`, and checks that every declared output was written. It refuses to run
 * (or to report) a node whose key names other code than this process runs (code-check.ts).
 */
export async function runStage(project: Project, task: NodeTask, send: (m: WorkerMessage) => void): Promise<Metrics | undefined> {
  const stage = project.stages.find((s) => s.name === task.stage);
  if (stage === undefined) throw new Error(`project has no stage '${task.stage}'`);
  checkStageCode(project, stage, task.codeDigest, 'before', task.nodeId);
  await mkdir(task.scratchDir, { recursive: true });
  for (const [name, decl] of Object.entries(stage.outputs)) {
    if (decl.kind === 'dir') await mkdir(task.outputs[name]!, { recursive: true });
  }
  let lastProgress = 0;
  const ctx: AnyStageContext = {
    params: task.params,
    inputs: task.inputs,
    outputs: task.outputs,
    scratchDir: task.scratchDir,
    nodeId: task.nodeId,
    nodeKey: task.nodeKey,
    progress: (event) => {
      // At most ~10 updates a second are passed on; the final one always is.
      const t = Date.now();
      if (event.done < event.total && t - lastProgress < 100) return;
      lastProgress = t;
      send({ type: 'progress', event });
    },
    log: (message) => send({ type: 'log', message }),
    environment: (facts) => send({ type: 'environment', facts }),
    series: (name, step, values) => send({ type: 'series', name, step, values }),
  };
  const result = await stage.run(ctx);
  await checkOutputs(task, stage.outputs);
  checkStageCode(project, stage, task.codeDigest, 'after', task.nodeId);
  return result?.metrics;
}

async function checkOutputs(task: NodeTask, decls: OutputDecls): Promise<void> {
  for (const [name, decl] of Object.entries(decls)) {
    const st = await stat(task.outputs[name]!).catch(() => undefined);
    if (st === undefined) throw new Error(`stage '${task.stage}' did not write its output '${name}'`);
    if (decl.kind === 'file' && !st.isFile()) throw new Error(`output '${name}' must be a file`);
    if (decl.kind === 'dir' && !st.isDirectory()) throw new Error(`output '${name}' must be a folder`);
  }
}
