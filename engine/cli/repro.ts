import { Option, type Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { closure, resolveTargets } from '../plan/graph.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { InlineExecutor } from '../exec/inline.ts';
import { LocalExecutor } from '../exec/local.ts';
import type { Project } from '../core/project.ts';
import { refsOf } from '../core/project.ts';
import { Repro } from '../run/repro.ts';
import type { ReproSummary } from '../run/repro.ts';
import { reproContext } from '../run/repro-context.ts';
import type { ReproEvent } from '../run/events.ts';
import { Estimator, planEstimates, scheduleSeconds } from '../plan/estimates.ts';
import { UserError } from '../core/result.ts';
import { digestOf } from '../core/canonical-json.ts';
import type { Executor } from '../exec/executor.ts';
import { slurmAvailable } from '../exec/slurm/commands.ts';
import { defaultSlurm, parseSlurmTime, sbatchResourceArgs } from '../exec/slurm/config.ts';
import type { ExecutorKind, SlurmSettings } from '../exec/slurm/config.ts';
import { SlurmExecutor } from '../exec/slurm/executor.ts';
import type { Workspace } from '../state/workspace.ts';
import { collect, positiveInt, shellWord, withoutFolders } from './args.ts';
import type { VerbContext } from './context.ts';
import { loadProject, projectHelp } from './load.ts';
import { Reporter, fmtDuration } from './reporter.ts';
import { WIDTH, foldParts } from './format.ts';

/** `repro [targets...]`: bring targets up to date, running only what changed. */

export function addReproCommand(program: Command, v: VerbContext): void {
  program
    .command('repro')
    .description('bring targets up to date, running only what changed')
    .argument('[targets...]', 'targets, node ids or stage names (default: all)')
    .option('-n, --dry-run', 'say what would run and why, change nothing')
    .option('-f, --force <stage|node>', 'rerun this stage or node even if cached (repeatable)', collect, [])
    .option('-j, --jobs <n>', "nodes run in parallel, each in its own worker process (default: the profile's, else 1)", positiveInt)
    .option('-k, --keep-going', 'after a failure, keep running nodes that do not depend on it')
    .option('-v, --verbose', 'list cached nodes one by one (a dry run otherwise counts them)')
    .option('--isolate', 'run every node in a fresh process (slower; for debugging) instead of reusing workers')
    .option('--lock-timeout <seconds>', 'fail a node whose lock another run holds for longer than this (default: wait)', positiveInt)
    .addOption(
      new Option(
        '--executor <kind>',
        'where nodes run: local (worker processes), slurm (a batch job each; the profile may say), or inline (in this process; only for trivial stages)',
      ).choices(['local', 'inline', 'slurm']),
    )
    .addHelpText('after', () => `\n${projectHelp(v.project, v.globals())}`)
    .action(
      async (
        targets: string[],
        o: {
          dryRun?: boolean;
          force: string[];
          jobs?: number;
          keepGoing?: boolean;
          verbose?: boolean;
          isolate?: boolean;
          lockTimeout?: number;
          executor?: ExecutorKind;
        },
      ) => {
        const { ws, graph, profile, defaultJobs, executor, params } = await loadProject(v.project, v.globals());
        try {
          const names = targets.length > 0 ? targets : ['all'];
          const ids = resolveTargets(graph, names);
          for (const f of o.force) {
            if (!graph.nodes.has(f) && ![...graph.nodes.values()].some((n) => n.spec.stage.name === f)) {
              throw new UserError(`--force ${f}: no such node or stage in this profile`);
            }
          }
          const summary = await reproduce(
            { project: v.project, ws, graph, profile, names, ids },
            {
              dryRun: o.dryRun ?? false,
              force: o.force,
              jobs: o.jobs ?? defaultJobs,
              keepGoing: o.keepGoing ?? false,
              verbose: o.verbose ?? false,
              executor: o.executor ?? executor.executor ?? 'local',
              ...(executor.slurm ? { slurm: executor.slurm } : {}),
              isolate: o.isolate ?? false,
              lockTimeoutS: o.lockTimeout,
            },
          );
          if (!o.dryRun && v.options.afterRepro) {
            await v.options.afterRepro({ ws, graph, profile, targets: names, summary, params, overrides: v.globals().set });
          }
          // An interrupted run keeps its 130 (set by runRepro).
          if ((summary.failed > 0 || (summary.skipped > 0 && !o.dryRun)) && process.exitCode !== 130) process.exitCode = 1;
        } finally {
          ws.close();
        }
      },
    );
}

export interface RunOpts {
  readonly executor?: ExecutorKind;
  readonly slurm?: SlurmSettings;
  /** Local executor: a fresh process per node instead of persistent workers. */
  readonly isolate?: boolean;
  readonly dryRun: boolean;
  readonly force: readonly string[];
  readonly jobs: number;
  readonly keepGoing: boolean;
  readonly lockTimeoutS?: number;
}

/** What a run is about: the project, its store and graph, and the targets as typed and resolved. */
export interface ReproRequest {
  readonly project: Project;
  readonly ws: Workspace;
  readonly graph: CheckedGraph;
  readonly profile: string;
  readonly names: readonly string[];
  readonly ids: readonly string[];
}

export async function runRepro(
  { project, ws, graph, profile, names, ids }: ReproRequest,
  o: RunOpts,
  listener: (e: ReproEvent) => void,
  quiet = false,
  estimator = new Estimator(ws.db, project.estimateContext?.() ?? '', project.stages),
): Promise<ReproSummary> {
  for (const dir of ['logs', 'scratch']) await mkdir(join(ws.artifactsDir, dir), { recursive: true });
  // The command as typed (overrides, profile and all), so that `log` says what was run; less the
  // folders, which the store it is logged in already names.
  const command = withoutFolders(process.argv.slice(2)).map(shellWord).join(' ');
  if (o.executor === 'slurm' && !o.dryRun) {
    const up = await slurmAvailable();
    if (!up.ok) throw new UserError(`--executor slurm: Slurm does not answer on this host (${up.reason})`);
  }
  const runId = quiet ? 0 : ws.db.startRun(command, profile, names, ws.host);
  const workerEnv = project.workerEnv?.(o.executor === 'slurm' ? 1 : o.jobs);
  // A dry run runs nothing, so it starts no worker and submits no job.
  const executor = o.dryRun ? undefined : makeExecutor(project, ws, graph, o, runId, workerEnv);
  const repro = new Repro(reproContext(project, ws, graph, { executor, runId, listener, estimator, ...(workerEnv ? { workerEnv } : {}) }), o);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    repro.interrupt();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const summary = await repro.run(ids);
    const status = interrupted ? 'interrupted' : o.dryRun ? 'dry run' : summary.failed + summary.skipped > 0 ? 'failed' : 'succeeded';
    if (!quiet) ws.db.endRun(runId, status, { ...summary });
    if (interrupted) process.exitCode = 130;
    return summary;
  } finally {
    executor?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function makeExecutor(
  project: Project,
  ws: Workspace,
  graph: CheckedGraph,
  o: RunOpts,
  runId: number,
  env: Readonly<Record<string, string>> | undefined,
): Executor {
  if (o.executor === 'inline') return new InlineExecutor(project);
  if (o.executor !== 'slurm') return new LocalExecutor({ projectModule: project.module, ...(env ? { env } : {}), isolate: o.isolate ?? false });
  const settings = o.slurm ?? defaultSlurm();
  return new SlurmExecutor({
    // The job name says which checkout and run a job belongs to (several may share a cluster account).
    artifactsDir: ws.artifactsDir,
    store: ws.store,
    jobName: `${project.name}-${digestOf(resolve(ws.artifactsDir)).slice(0, 6)}-r${runId}`,
    retries: settings.retries,
    ...(settings.maxPending !== undefined ? { maxPendingS: parseSlurmTime(settings.maxPending) } : {}),
    ...(settings.node ? { nodeBinary: settings.node } : {}),
    resources: (task) => {
      const node = graph.nodes.get(task.nodeId)!;
      return sbatchResourceArgs(settings, node.spec.stage, node.params, node.spec.estimateHints);
    },
  });
}

async function reproduce(request: ReproRequest, o: RunOpts & { verbose: boolean }): Promise<ReproSummary> {
  const { project, ws, graph, profile, names, ids } = request;
  const reporter = new Reporter({ tty: process.stdout.isTTY === true, verbose: o.verbose, dryRun: o.dryRun, write: (l) => process.stdout.write(`${l}\n`) });
  const started = Date.now();
  const banner = project.runBanner?.();
  if (banner) process.stdout.write(`${banner}\n`);
  const needed = closure(graph, ids);
  const estimator = new Estimator(ws.db, project.estimateContext?.() ?? '', project.stages);
  const estimates = planEstimates(
    estimator,
    needed.map((id) => graph.nodes.get(id)!),
  );
  reporter.handle({ type: 'plan', nodes: needed.length, targets: names, estimates, jobs: o.jobs });
  try {
    const planned = new Map<string, { seconds: number; deps: string[] }>();
    const sbatchLines: string[] = [];
    const s = await runRepro(
      request,
      o,
      (e) => {
        if (e.type === 'would-run') {
          const deps = Object.values(graph.nodes.get(e.node)!.spec.inputs ?? {}).flatMap((i) => refsOf(i).map((r) => r.node));
          planned.set(e.node, { seconds: e.estimateSeconds ?? 0, deps });
          if (o.executor === 'slurm') {
            const node = graph.nodes.get(e.node)!;
            sbatchLines.push(
              `  ${e.node}: sbatch ${sbatchResourceArgs(o.slurm ?? defaultSlurm(), node.spec.stage, node.params, node.spec.estimateHints).join(' ')}`,
            );
          }
        }
        reporter.handle(e);
      },
      false,
      estimator,
    );
    reporter.close();
    // Cached nodes are most of a dry run of a finished project: counted here, listed with -v.
    if (o.dryRun && !o.verbose && s.cached > 0) process.stdout.write(`  cached    ${s.cached} node${s.cached === 1 ? '' : 's'} (-v lists them)\n`);
    if (sbatchLines.length > 0) process.stdout.write(`Slurm resources per node that would run:\n${sbatchLines.join('\n')}\n`);
    const parts = [`${s.cached} cached`, o.dryRun ? `${s.wouldRun} to run` : `${s.ran} ran`];
    if (s.failed) parts.push(`${s.failed} failed`);
    if (s.skipped) parts.push(`${s.skipped} skipped`);
    if (o.dryRun && s.estimateSeconds > 0) {
      parts.push(
        `planned compute ~${fmtDuration(s.estimateSeconds)} (${(s.estimateSeconds / 3600).toFixed(1)} node-hours), ~${fmtDuration(scheduleSeconds(planned, o.jobs))} wall at --jobs ${o.jobs}`,
      );
    }
    const took = `in ${fmtDuration((Date.now() - started) / 1000)}`;
    const pieces = [`${o.dryRun ? 'dry run' : 'repro'} (${profile}): ${parts[0]}`, ...parts.slice(1)];
    pieces[pieces.length - 1] += ` ${took}`;
    const lines = foldParts(pieces, WIDTH);
    process.stdout.write(`${lines.join('\n')}\n`);
    return s;
  } finally {
    reporter.close();
  }
}
