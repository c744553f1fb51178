import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { canonicalJson } from '../core/canonical-json.ts';
import type { Project } from '../core/project.ts';
import { sourceClosure, type ExtraCode } from '../core/source-digest.ts';

/**
 * What a persistent worker checks between nodes, so that a node's result never depends on what the
 * worker ran before: the code it imported is still the code on disk, and no node left state behind
 * (globals, environment, working folder, and whatever the project reports, e.g. live tensors).
 */

/** The project's source closure as it was when the worker imported it. */
export class LoadedSources {
  private readonly digest: string;
  private readonly stats: ReadonlyMap<string, string>;

  constructor(
    private readonly moduleUrl: string,
    private readonly root: string,
    private readonly extra?: ExtraCode,
  ) {
    const c = sourceClosure(moduleUrl, root, extra);
    this.digest = c.digest;
    this.stats = new Map(c.files.map((f) => [f, statKey(resolve(root, f))]));
  }

  /** Undefined while every file is as imported; else which file changed (a size or mtime change that rehashes to the same closure is not a change). */
  changed(): string | undefined {
    for (const [file, key] of this.stats) {
      if (statKey(resolve(this.root, file)) === key) continue;
      return sourceClosure(this.moduleUrl, this.root, this.extra).digest === this.digest ? undefined : file;
    }
    return undefined;
  }
}

function statKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** A snapshot of what a node could leave behind in its process. */
export interface ProcessState {
  readonly globals: ReadonlyMap<string, PropertyDescriptor>;
  readonly env: string;
  readonly cwd: string;
  readonly project: string;
}

export async function processState(project: Project | undefined): Promise<ProcessState> {
  const globals = new Map<string, PropertyDescriptor>();
  for (const name of Reflect.ownKeys(globalThis)) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (d !== undefined) globals.set(String(name), d);
  }
  return {
    globals,
    env: canonicalJson({ ...process.env }),
    cwd: process.cwd(),
    project: project?.workerState ? canonicalJson(await project.workerState()) : '',
  };
}

/** What differs between two snapshots, in words; empty when the process is as it was. */
export function stateChanges(before: ProcessState, after: ProcessState): string[] {
  const changes: string[] = [];
  for (const [name, d] of after.globals) {
    const old = before.globals.get(name);
    if (old === undefined) changes.push(`global '${name}' added`);
    // Node defines some globals as lazy accessors that turn into values on first use: only a
    // value that was a value and changed counts.
    else if ('value' in old && 'value' in d && !Object.is(old.value, d.value)) changes.push(`global '${name}' replaced`);
  }
  for (const name of before.globals.keys()) if (!after.globals.has(name)) changes.push(`global '${name}' deleted`);
  if (before.env !== after.env) changes.push('process.env changed');
  if (before.cwd !== after.cwd) changes.push(`working folder changed to ${after.cwd}`);
  if (before.project !== after.project) changes.push(`project state changed: ${before.project} -> ${after.project}`);
  return changes;
}
