import { CodeChangedError, recordLoadedCode } from './code-check.ts';
import type { Project } from '../core/project.ts';
import { importProjectModule, isCompiledWorker } from '../fast-start/preloaded-projects.ts';
import { codeRoot } from '../core/source-digest.ts';
import { runStage } from './stage-runner.ts';
import { LoadedSources, processState, stateChanges } from './worker-state.ts';
import { END_OF_NODE, type DriverMessage, type NodeTask, type WorkerMessage } from './worker-protocol.ts';

/**
 * The child process that runs nodes for the driver. `worker.ts <project-url>` runs one node and
 * exits (`--isolate`); `worker.ts <project-url> --persistent` runs node after node, as Bazel's
 * persistent workers do, so tfjs and the backend are loaded once, not once per node. Every node
 * still goes through runStage. Before each node a persistent worker checks that no source file
 * changed since it imported the code (else it refuses the node, which then runs in a fresh worker);
 * after each node it compares the process's state with the state before it, and retires when the
 * node left anything behind (a live tensor, a global, an environment variable).
 *
 * If the driver goes away (killed, crashed), the worker stops too: no orphan keeps computing a
 * result nobody will register.
 */

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

const projectModule = process.argv[2];
const persistent = process.argv.includes('--persistent');

interface Booted {
  readonly project: Project | undefined;
  /** The sources as imported (persistent workers only). */
  readonly sources: LoadedSources | undefined;
}

// The project module is imported as soon as the worker boots, so a spare worker is ready when
// its task arrives. The digest of the code it loaded is taken right then (code-check.ts: runStage
// refuses a node whose key names other code); a persistent worker also notes the sources' stats,
// to see cheaply before each node whether any changed since.
async function boot(url: string): Promise<Booted> {
  const mod = (await importProjectModule(url).catch(() => undefined)) as { project?: Project } | undefined;
  const project = mod?.project;
  if (project === undefined) return { project, sources: undefined };
  recordLoadedCode(project);
  let sources: LoadedSources | undefined;
  if (persistent) {
    try {
      sources = new LoadedSources(url, codeRoot(url), project.extraCode?.bind(project));
    } catch {
      sources = undefined;
    }
  }
  await project.warmup?.().catch(() => undefined);
  return { project, sources };
}
const booted: Promise<Booted | undefined> = projectModule ? boot(projectModule) : Promise.resolve(undefined);

let nodesRun = 0;

async function run(task: NodeTask): Promise<WorkerMessage> {
  const b = await booted;
  const mod = (await importProjectModule(task.projectModule)) as { project?: Project };
  if (mod.project === undefined) throw new Error(`${task.projectModule} does not export 'project'`);
  const project = mod.project;
  // Recorded with the execution: which build of the engine ran the node.
  void send({ type: 'environment', facts: { worker: isCompiledWorker() ? 'compiled' : 'tsx' } });
  if (!persistent) return { type: 'done', metrics: await runStage(project, task, (m) => void send(m)) };

  const changed = task.projectModule === projectModule ? b?.sources?.changed() : 'the project module';
  if (changed !== undefined) return { type: 'stale', reason: `${changed} changed since this worker imported the code` };
  if (nodesRun > 0) await project.resetWorker?.();
  const before = await processState(project);
  nodesRun++;
  const metrics = await runStage(project, task, (m) => void send(m));
  const changes = stateChanges(before, await processState(project));
  return { type: 'done', metrics, ...(changes.length > 0 ? { retire: changes.join('; ') } : {}) };
}

function endOfNode(): void {
  // Pipes are written synchronously on Linux: the markers are in the pipes before the result
  // message is sent.
  process.stdout.write(END_OF_NODE);
  process.stderr.write(END_OF_NODE);
}

process.on('disconnect', () => process.exit(70));
process.on('message', (m: DriverMessage) => {
  if (m.type !== 'run') return;
  run(m.task).then(
    async (result) => {
      if (persistent) endOfNode();
      await send(result);
      if (!persistent || result.type !== 'done' || result.retire !== undefined) process.exit(0);
    },
    async (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      if (persistent) endOfNode();
      // A refusal over changed code is a message for the user, not a crash to debug.
      await send({ type: 'failed', error: err.message, stack: err instanceof CodeChangedError ? undefined : err.stack });
      // A node that threw may have left anything half done: its worker is not reused.
      process.exit(1);
    },
  );
});
