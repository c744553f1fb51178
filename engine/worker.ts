import { CodeChangedError, recordLoadedCode } from './code-check.ts';
import type { Project } from './project.ts';
import { runStage } from './stage-runner.ts';
import type { DriverMessage, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * The child process that runs one node, then exits. If the driver goes away (killed, crashed),
 * the worker stops too: no orphan keeps computing a result nobody will register.
 */

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

// The project module is imported as soon as the worker boots (its URL is argv[2]), so a spare
// worker is ready when its task arrives. The digest of the code it loaded is taken right then.
const projectModule = process.argv[2];
const preloaded = projectModule
  ? import(projectModule)
      .then((mod: { project?: Project }) => {
        if (mod.project !== undefined) recordLoadedCode(mod.project);
        return mod.project?.warmup?.();
      })
      .catch(() => undefined)
  : Promise.resolve(undefined);

async function run(task: NodeTask): Promise<void> {
  await preloaded;
  const mod = (await import(task.projectModule)) as { project?: Project };
  if (mod.project === undefined) throw new Error(`${task.projectModule} does not export 'project'`);
  const metrics = await runStage(mod.project, task, (m) => void send(m));
  await send({ type: 'done', metrics });
}

process.on('disconnect', () => process.exit(70));
process.once('message', (m: DriverMessage) => {
  if (m.type !== 'run') return;
  run(m.task).then(
    () => process.exit(0),
    async (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      // A refusal over changed code is a message for the user, not a crash to debug.
      await send({ type: 'failed', error: err.message, stack: err instanceof CodeChangedError ? undefined : err.stack });
      process.exit(1);
    },
  );
});
