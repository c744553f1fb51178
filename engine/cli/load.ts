import { join, resolve } from 'node:path';
import { checkGraph } from '../plan/graph.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import { parseOverride, readParamsFile, resolveProfile } from '../plan/params.ts';
import { readParamsFileCached } from '../fast-start/params-cache.ts';
import type { Project } from '../core/project.ts';
import { openWorkspace } from '../state/workspace.ts';
import type { Workspace } from '../state/workspace.ts';
import { checkStageNames } from '../exec/slurm/config.ts';
import type { ExecutorSettings } from '../exec/slurm/config.ts';

/** The options every verb shares (`--root`, `--db`, `--profile`, `--set`). */
export interface GlobalOpts {
  root: string;
  db?: string;
  profile?: string;
  set: string[];
}

export const openFor = (g: GlobalOpts): Promise<Workspace> => openWorkspace(g.root, undefined, g.db);

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
  const ws = await openFor(opts);
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

/**
 * The lines a verb's help ends with: the named targets of the profile in use, the profiles of
 * params.yaml and which is the default. Read when the help is shown, from `--root`'s params.yaml
 * (nothing is written); a params.yaml that does not load says why instead.
 */
export function projectHelp(project: Project, opts: GlobalOpts): string {
  const root = resolve(opts.root);
  const paramsPath = join(root, 'params.yaml');
  try {
    const file = readParamsFile(paramsPath);
    const def = file.defaultProfile ?? project.defaultProfile;
    const name = opts.profile ?? def;
    const resolved = resolveProfile(file, name, project.profileSchema, opts.set.map(parseOverride));
    const groups = Object.keys(project.build(resolved.params, name, [], { root }).groups);
    const profiles = Object.keys(file.profiles).map((p) => (p === def ? `${p} (default)` : p));
    return wrap(
      [
        `Targets of profile ${name}: ${groups.join(', ')}; also any node id or stage name (list them with 'dag').`,
        `Profiles (--profile): ${profiles.join(', ')}.`,
      ],
      100,
    );
  } catch (e) {
    return `Targets and profiles: ${paramsPath} did not load (${(e as Error).message.split('\n')[0]}).`;
  }
}

/** Lines folded at word boundaries to `width` columns, continuations indented by two. */
export function wrap(lines: readonly string[], width: number): string {
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(' ')) {
      if (current !== '' && current.length + 1 + word.length > width) {
        out.push(current);
        current = `  ${word}`;
      } else current = current === '' ? word : `${current} ${word}`;
    }
    out.push(current);
  }
  return out.join('\n');
}
