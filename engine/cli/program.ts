import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { closure, checkGraph, resolveTargets } from '../plan/graph.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { dagText, findArtifact, findNode, fmtBytes, lineageTree, runDetail, runLog, showArtifact, showNode } from './inspect.ts';
import type { ArtifactDescriber } from './inspect.ts';
import { InlineExecutor } from '../exec/inline.ts';
import { LocalExecutor } from '../exec/local.ts';
import { collectGarbage, verifyAll } from '../state/maintenance.ts';
import { parseOverride, resolveProfile } from '../plan/params.ts';
import { readParamsFileCached } from '../fast-start/params-cache.ts';
import type { Project } from '../core/project.ts';
import { Repro, ensureDirs } from '../run/repro.ts';
import { reproContext } from '../run/repro-context.ts';
import type { ReproSummary } from '../run/repro.ts';
import { Reporter, fmtDuration } from './reporter.ts';
import { Estimator, planEstimates, scheduleSeconds } from '../plan/estimates.ts';
import { refsOf } from '../core/project.ts';
import { UserError } from '../core/result.ts';
import { openWorkspace } from '../state/workspace.ts';
import { join, resolve } from 'node:path';
import { digestOf } from '../core/canonical-json.ts';
import { didYouMean } from '../core/suggest.ts';
import type { Executor } from '../exec/executor.ts';
import { slurmAvailable } from '../exec/slurm/commands.ts';
import { defaultSlurm, checkStageNames, parseSlurmTime, sbatchResourceArgs } from '../exec/slurm/config.ts';
import type { ExecutorKind, ExecutorSettings, SlurmSettings } from '../exec/slurm/config.ts';
import { SlurmExecutor } from '../exec/slurm/executor.ts';
import type { Workspace } from '../state/workspace.ts';

/**
 * The command line shared by every project built on the engine (`tsx pipeline.ts <verb>`). A
 * project may add verbs of its own to the returned program.
 */

/** What a finished `repro` hands to the project (e.g. to publish reports and print a table). */
export interface ReproOutcome {
  readonly ws: Workspace;
  readonly graph: CheckedGraph;
  readonly profile: string;
  readonly targets: readonly string[];
  readonly summary: ReproSummary;
  /** The profile's effective parameters and the --set overrides that made them. */
  readonly params: unknown;
  readonly overrides: readonly string[];
}

export interface CliOptions {
  readonly describeArtifact?: ArtifactDescriber;
  /** Runs after a `repro` that was not a dry run, whatever its outcome. */
  readonly afterRepro?: (outcome: ReproOutcome) => Promise<void>;
}

export interface GlobalOpts {
  root: string;
  db?: string;
  profile?: string;
  set: string[];
}

const open = (g: GlobalOpts): Promise<Workspace> => openWorkspace(g.root, undefined, g.db);

const collect = (v: string, prev: string[]): string[] => [...prev, v];
export const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** A word of a command line as a POSIX shell would need it written. */
export const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

/** argv without `--root`/`--db` and their values. */
export function withoutFolders(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root' || argv[i] === '--db') i++;
    else if (!/^--(root|db)=/.test(argv[i]!)) out.push(argv[i]!);
  }
  return out;
}

/** `12` or `run:12`: a run of `log`. */
export function runRef(text: string): number {
  const m = /^(?:run:)?(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new UserError(`'${text}' is not a run id: give the number 'log' lists (12 or run:12)`);
  return Number(m[1]);
}

export interface Loaded {
  readonly ws: Workspace;
  readonly graph: CheckedGraph;
  readonly profile: string;
  /** Nodes run at once when --jobs is not given: the project's choice for this profile, else 1. */
  readonly defaultJobs: number;
  /** The profile's executor and `slurm:` mapping, if the project has them. */
  readonly executor: ExecutorSettings;
  /** The profile's effective parameters (after `extends` and --set). */
  readonly params: unknown;
}

/** Reads params.yaml, validates the profile and the whole graph: nothing runs if any of it is wrong. */
export async function loadProject(project: Project, opts: GlobalOpts): Promise<Loaded> {
  const ws = await open(opts);
  try {
    const file = readParamsFileCached(ws.paramsPath, join(ws.artifactsDir, 'cache', 'params.json'));
    const name = opts.profile ?? file.defaultProfile ?? project.defaultProfile;
    const overrides = opts.set.map(parseOverride);
    const resolved = resolveProfile(file, name, project.profileSchema, overrides);
    const graph = checkGraph(
      project.build(
        resolved.params,
        name,
        overrides.map((o) => o.text),
        { root: ws.root },
      ),
      'params.yaml',
    );
    const executor = project.executorSettings?.(resolved.params) ?? {};
    if (executor.slurm) checkStageNames(executor.slurm, project.stages, `${file.path}: profiles.${name}`);
    return { ws, graph, profile: name, defaultJobs: project.defaultJobs?.(resolved.params) ?? 1, executor, params: resolved.params };
  } catch (e) {
    ws.close();
    throw e;
  }
}

export function buildCli(project: Project, options: CliOptions = {}): Command {
  const program = new Command();
  program
    .name('pipeline.ts')
    .description(`${project.name}: a content-addressed pipeline (see README.md)`)
    .option('--root <dir>', 'folder holding params.yaml and artifacts/', process.cwd())
    .option('--db <path>', "the lineage database (default artifacts/lineage.sqlite; on a cluster, a path on the driver's local disk)")
    .option('--profile <name>', 'profile of params.yaml to use')
    .option('--set <key=value>', 'override one key of the profile for this run (repeatable)', collect, [])
    // A usage error is one line and exit 2, as the project's own errors are (main); subcommands
    // added below inherit both settings.
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });

  const globals = (): GlobalOpts => program.opts<GlobalOpts>();
  const out = (s: string) => process.stdout.write(`${s}\n`);

  program
    .command('repro')
    .description('bring targets up to date, running only what changed')
    .argument('[targets...]', 'targets (table1 … fig3, all), node ids or stage names', [])
    .option('-n, --dry-run', 'say what would run and why, change nothing')
    .option('-f, --force <stage|node>', 'rerun this stage or node even if cached (repeatable)', collect, [])
    .option('-j, --jobs <n>', "nodes run in parallel, each in its own worker process (default: the profile's, else 1)", positiveInt)
    .option('-k, --keep-going', 'after a failure, keep running nodes that do not depend on it')
    .option('-v, --verbose', 'list cached nodes too')
    .option('--isolate', 'run every node in a fresh process (slower; for debugging) instead of reusing workers')
    .option('--lock-timeout <seconds>', 'fail a node whose lock another run holds for longer than this (default: wait)', positiveInt)
    .addOption(
      new Option(
        '--executor <kind>',
        'where nodes run: local (worker processes), slurm (a batch job each; the profile may say), or inline (in this process; only for trivial stages)',
      ).choices(['local', 'inline', 'slurm']),
    )
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
        const { ws, graph, profile, defaultJobs, executor, params } = await loadProject(project, globals());
        try {
          const names = targets.length > 0 ? targets : ['all'];
          const ids = resolveTargets(graph, names);
          for (const f of o.force) {
            if (!graph.nodes.has(f) && ![...graph.nodes.values()].some((n) => n.spec.stage.name === f)) {
              throw new UserError(`--force ${f}: no such node or stage in this profile`);
            }
          }
          const summary = await reproduce(project, ws, graph, profile, names, ids, {
            dryRun: o.dryRun ?? false,
            force: o.force,
            jobs: o.jobs ?? defaultJobs,
            keepGoing: o.keepGoing ?? false,
            verbose: o.verbose ?? false,
            executor: o.executor ?? executor.executor ?? 'local',
            ...(executor.slurm ? { slurm: executor.slurm } : {}),
            isolate: o.isolate ?? false,
            lockTimeoutS: o.lockTimeout,
          });
          if (!o.dryRun && options.afterRepro) await options.afterRepro({ ws, graph, profile, targets: names, summary, params, overrides: globals().set });
          // An interrupted run keeps its 130 (set by runRepro).
          if ((summary.failed > 0 || (summary.skipped > 0 && !o.dryRun)) && process.exitCode !== 130) process.exitCode = 1;
        } finally {
          ws.close();
        }
      },
    );

  program
    .command('status')
    .description('how many nodes of the targets are cached and which would run')
    .argument('[targets...]', 'targets', [])
    .action(async (targets: string[]) => {
      const { ws, graph, profile } = await loadProject(project, globals());
      try {
        const names = targets.length > 0 ? targets : ['all'];
        const ids = resolveTargets(graph, names);
        const stale: string[] = [];
        const s = await runRepro(
          project,
          ws,
          graph,
          profile,
          names,
          ids,
          { dryRun: true, force: [], jobs: 1, keepGoing: true },
          (e) => {
            if (e.type === 'would-run') stale.push(`  ${e.node}: ${e.reasons.join('; ')}`);
          },
          true,
        );
        out(`profile ${profile}: ${closure(graph, ids).length} nodes, ${s.cached} cached, ${s.wouldRun} to run`);
        if (stale.length) out(stale.join('\n'));
      } finally {
        ws.close();
      }
    });

  program
    .command('dag')
    .description('print the graph of the targets')
    .argument('[targets...]', 'targets', [])
    .addOption(new Option('--mermaid', 'as a Mermaid flowchart').conflicts('dot'))
    .option('--dot', 'as Graphviz dot')
    .action(async (targets: string[], o: { mermaid?: boolean; dot?: boolean }) => {
      const { ws, graph } = await loadProject(project, globals());
      try {
        const ids = resolveTargets(graph, targets.length > 0 ? targets : ['all']);
        out(dagText(graph, closure(graph, ids), o.mermaid ? 'mermaid' : o.dot ? 'dot' : 'text'));
      } finally {
        ws.close();
      }
    });

  program
    .command('show')
    .description('params, inputs, outputs, metrics and timings of a node; or an artifact and its lineage')
    .argument('<ref>', 'node id, node key prefix, artifact digest prefix, or node:output')
    .action(async (ref: string) => {
      const ws = await open(globals());
      try {
        const node = findNode(ws.db, ref);
        const arts = node ? [] : findArtifact(ws.db, ref);
        if (node) out(await showNode(ws.db, ws.store, node));
        else if (arts.length > 0) out(await showArtifact(ws.db, ws.store, arts, options.describeArtifact));
        else throw await whyNothingMatches(project, globals(), ws, ref);
      } finally {
        ws.close();
      }
    });

  program
    .command('lineage')
    .description('the upstream tree of a node or artifact, back to its sources, with parameters')
    .argument('<ref>', 'node id, key prefix, artifact digest prefix, or node:output')
    .action(async (ref: string) => {
      const ws = await open(globals());
      try {
        const node =
          findNode(ws.db, ref) ??
          (() => {
            const a = findArtifact(ws.db, ref)[0];
            return a ? ws.db.node(a.node_key) : undefined;
          })();
        if (!node) throw await whyNothingMatches(project, globals(), ws, ref);
        out(lineageTree(ws.db, node));
      } finally {
        ws.close();
      }
    });

  program
    .command('log')
    .description('past runs, or the node executions of one run')
    .argument('[run]', 'run id from the list (12 or run:12)')
    .option('--limit <n>', 'runs to list', positiveInt, 20)
    .option('--dry-runs', 'list dry runs too (they run nothing, so they are left out by default)')
    .action(async (run: string | undefined, o: { limit: number; dryRuns?: boolean }) => {
      const ws = await open(globals());
      try {
        if (run === undefined) out(runLog(ws.db, o.limit, o.dryRuns ?? false));
        else {
          const id = runRef(run);
          if (ws.db.run(id) === undefined) throw new UserError(`no run ${id} (list the runs with 'log')`);
          out(runDetail(ws.db, id));
        }
      } finally {
        ws.close();
      }
    });

  program
    .command('gc')
    .description('remove blobs that no registered node refers to (lists them unless --apply)')
    .option('--apply', 'delete them')
    .option('--scratch', 'also delete the checkpoints of unfinished nodes (a later repro then starts them over)')
    .action(async (o: { apply?: boolean; scratch?: boolean }) => {
      const ws = await open(globals());
      try {
        const r = await collectGarbage(ws, o.apply ?? false, { scratch: o.scratch ? 'all' : 'done' });
        const kept =
          r.resumable > 0
            ? `; kept ${r.resumable} scratch folders of unfinished or running nodes${o.scratch ? ' (running)' : ' (gc --scratch removes those not running)'}`
            : '';
        const jobs = r.jobFolders > 0 ? `, ${r.jobFolders} Slurm job folders of interrupted runs` : '';
        const keptJobs =
          r.jobFoldersKept > 0
            ? `; kept ${r.jobFoldersKept} Slurm job folders of live runs or queued jobs${r.queueError ? ` (squeue failed: ${r.queueError})` : ''}`
            : '';
        out(
          `${r.applied ? 'removed' : 'would remove'} ${r.unreferenced} blobs, ${r.views} folder views${jobs} and ${r.scratch} scratch folders (${fmtBytes(r.bytes)})${kept}${keptJobs}${r.applied ? '' : '; run gc --apply to delete'}`,
        );
      } finally {
        ws.close();
      }
    });

  program
    .command('verify')
    .description('rehash every registered artifact; unregister nodes whose outputs are damaged')
    .action(async () => {
      const ws = await open(globals());
      try {
        const r = await verifyAll(ws, (p) => out(`  ${p.state.padEnd(8)} ${p.node}:${p.output} (will be recomputed by the next repro)`));
        out(`verified ${r.checked} artifacts: ${r.problems.length === 0 ? 'all intact' : `${r.problems.length} damaged`}`);
        if (r.problems.length > 0) process.exitCode = 1;
      } finally {
        ws.close();
      }
    });

  return program;
}

/**
 * Why `show`/`lineage` found nothing for `ref`, as precisely as can be said: a stage name, a node
 * of this profile that never ran, a near miss of a node id (case or a typo), or nothing like it.
 */
async function whyNothingMatches(project: Project, opts: GlobalOpts, ws: Workspace, ref: string): Promise<UserError> {
  let graph: CheckedGraph | undefined;
  let profile = opts.profile ?? '';
  try {
    const loaded = await loadProject(project, opts);
    loaded.ws.close();
    graph = loaded.graph;
    profile = loaded.profile;
  } catch {
    // A broken params.yaml must not hide the answer about the store.
  }
  const inGraph = graph ? [...graph.nodes.values()] : [];
  const ofStage = inGraph.filter((n) => n.spec.stage.name === ref).map((n) => n.spec.id);
  if (project.stages.some((s) => s.name === ref)) {
    const example = ofStage[0] ?? `${ref}@…`;
    return new UserError(
      `'${ref}' is a stage (${ofStage.length} nodes in profile ${profile}); show takes one node, e.g. '${example}' (list them with 'dag ${ref}')`,
    );
  }
  if (graph?.nodes.has(ref)) return new UserError(`'${ref}' is a node of profile ${profile} that has not run yet (run it with 'repro ${ref}')`);
  const known = [...new Set([...ws.db.allNodes().map((n) => n.node_id), ...inGraph.map((n) => n.spec.id)])];
  const containing = known.filter((id) => id.toLowerCase().includes(ref.toLowerCase()));
  const hint =
    didYouMean(ref, known) ||
    (containing.length > 0 ? `; ids that contain it: ${containing.slice(0, 5).join(', ')}${containing.length > 5 ? `, … (${containing.length})` : ''}` : '');
  if (/^[0-9a-f]{1,3}$/.test(ref)) return new UserError(`'${ref}' is too short a digest or key prefix: give at least 4 characters`);
  return new UserError(`nothing registered matches '${ref}'${hint || " (try a node id from 'dag', or 'log')"}`);
}

interface RunOpts {
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

async function runRepro(
  project: Project,
  ws: Workspace,
  graph: CheckedGraph,
  profile: string,
  names: readonly string[],
  ids: readonly string[],
  o: RunOpts,
  listener: (e: import('../run/events.ts').ReproEvent) => void,
  quiet = false,
  estimator = new Estimator(ws.db, project.estimateContext?.() ?? '', project.stages),
): Promise<ReproSummary> {
  await ensureDirs(ws.artifactsDir);
  // The command as typed (overrides, profile and all), so that `log` says what was run; less the
  // folders, which the store it is logged in already names.
  const command = withoutFolders(process.argv.slice(2)).map(shellWord).join(' ');
  if (o.executor === 'slurm' && !o.dryRun) {
    const up = await slurmAvailable();
    if (!up.ok) throw new UserError(`--executor slurm: Slurm does not answer on this host (${up.reason})`);
  }
  const runId = quiet ? 0 : ws.db.startRun(command, profile, names, ws.host);
  const workerEnv = project.workerEnv?.(o.executor === 'slurm' ? 1 : o.jobs);
  const executor = makeExecutor(project, ws, graph, o, runId, workerEnv);
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
    executor.close();
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

async function reproduce(
  project: Project,
  ws: Workspace,
  graph: CheckedGraph,
  profile: string,
  names: readonly string[],
  ids: readonly string[],
  o: RunOpts & { verbose: boolean },
): Promise<ReproSummary> {
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
      project,
      ws,
      graph,
      profile,
      names,
      ids,
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
    if (sbatchLines.length > 0) process.stdout.write(`Slurm resources per node that would run:\n${sbatchLines.join('\n')}\n`);
    const parts = [`${s.cached} cached`, o.dryRun ? `${s.wouldRun} to run` : `${s.ran} ran`];
    if (s.failed) parts.push(`${s.failed} failed`);
    if (s.skipped) parts.push(`${s.skipped} skipped`);
    if (o.dryRun && s.estimateSeconds > 0) {
      parts.push(
        `planned compute ~${fmtDuration(s.estimateSeconds)} (${(s.estimateSeconds / 3600).toFixed(1)} node-hours), ~${fmtDuration(scheduleSeconds(planned, o.jobs))} wall at --jobs ${o.jobs}`,
      );
    }
    process.stdout.write(`${o.dryRun ? 'dry run' : 'repro'} (${profile}): ${parts.join(', ')} in ${fmtDuration((Date.now() - started) / 1000)}\n`);
    return s;
  } finally {
    reporter.close();
  }
}

/**
 * A reader that went away (`repro … | head`) ends the command the way Ctrl-C does: a run in
 * progress is interrupted cleanly (nothing half-registered), anything else exits quietly, instead
 * of an unhandled EPIPE with a stack trace.
 */
function endOnClosedPipe(stream: NodeJS.WriteStream): void {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (closed) return;
    closed = true;
    if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT');
    else process.exit(process.exitCode ?? 0);
  });
}

/** Runs the CLI: user errors print one clear message and exit 2; anything else shows its stack. */
export async function main(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  endOnClosedPipe(process.stdout);
  endOnClosedPipe(process.stderr);
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed its message (or the help or version asked for) already.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
    } else if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      throw e;
    }
  }
}
