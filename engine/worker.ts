import { mkdir, stat } from 'node:fs/promises';
import type { Project } from './project.ts';
import type { StageContext, InputDecls, OutputDecls, StageResult } from './stage.ts';
import type { DriverMessage, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * The child process that runs one node. It imports the project, finds the stage, runs it with a
 * context that forwards progress, logs and metrics to the driver, checks that every declared output
 * was written, and exits. If the driver goes away (killed, crashed), the worker stops too: no
 * orphan keeps computing a result nobody will register.
 */

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function checkOutputs(task: NodeTask, decls: OutputDecls): Promise<void> {
  for (const [name, decl] of Object.entries(decls)) {
    const path = task.outputs[name]!;
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) throw new Error(`stage '${task.stage}' did not write its output '${name}'`);
    if (decl.kind === 'file' && !st.isFile()) throw new Error(`output '${name}' must be a file`);
    if (decl.kind === 'dir' && !st.isDirectory()) throw new Error(`output '${name}' must be a folder`);
  }
}

// The project module is imported as soon as the worker boots (its URL is argv[2]), so a spare
// worker is ready when its task arrives.
const projectModule = process.argv[2];
const preloaded = projectModule ? import(projectModule).catch(() => undefined) : Promise.resolve(undefined);

async function run(task: NodeTask): Promise<void> {
  await preloaded;
  const mod = (await import(task.projectModule)) as { project?: Project };
  const project = mod.project;
  if (project === undefined) throw new Error(`${task.projectModule} does not export 'project'`);
  const stage = project.stages.find((s) => s.name === task.stage);
  if (stage === undefined) throw new Error(`project has no stage '${task.stage}'`);
  await mkdir(task.scratchDir, { recursive: true });
  for (const [name, decl] of Object.entries(stage.outputs)) {
    if (decl.kind === 'dir') await mkdir(task.outputs[name]!, { recursive: true });
  }
  let lastProgress = 0;
  const ctx: StageContext<never, InputDecls, OutputDecls> = {
    params: task.params as never,
    inputs: task.inputs as never,
    outputs: task.outputs,
    scratchDir: task.scratchDir,
    nodeId: task.nodeId,
    nodeKey: task.nodeKey,
    progress: (event) => {
      // At most ~10 updates a second cross the process boundary; the final one always does.
      const t = Date.now();
      if (event.done < event.total && t - lastProgress < 100) return;
      lastProgress = t;
      void send({ type: 'progress', event });
    },
    log: (message) => void send({ type: 'log', message }),
    environment: (facts) => void send({ type: 'environment', facts }),
    series: (name, step, values) => void send({ type: 'series', name, step, values }),
  };
  const result: StageResult | void = await stage.run(ctx);
  await checkOutputs(task, stage.outputs);
  await send({ type: 'done', metrics: result?.metrics });
}

process.on('disconnect', () => process.exit(70));
process.once('message', (m: DriverMessage) => {
  if (m.type !== 'run') return;
  run(m.task).then(
    () => process.exit(0),
    async (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      await send({ type: 'failed', error: err.message, stack: err.stack });
      process.exit(1);
    },
  );
});
