import type { Project } from '../core/project.ts';
import { changedFiles, SourceDigests } from '../core/source-digest.ts';
import type { AnyStage } from '../core/stage.ts';
import { codeRoot } from '../state/workspace.ts';

/**
 * A node's key names the code of its stage (its import closure plus the project's extra code).
 * The driver computes it when it plans; a worker imports the sources later (a spare worker boots
 * early, a cluster job starts minutes later). Every executor runs a node through runStage, which
 * calls `checkStageCode` before and after the stage: the node runs only if the key's code is the
 * code this process loaded and the code on disk now (a stage imports heavy modules lazily, from
 * disk, while it runs), and it reports success only if the code on disk is still that code after.
 */

const loaded = new WeakMap<Project, SourceDigests>();

/** This process's digests of the project's code, memoised from the first time they are taken. */
export function loadedCode(project: Project): SourceDigests {
  let d = loaded.get(project);
  if (d === undefined) {
    d = new SourceDigests(codeRoot(project.module), project.extraCode?.bind(project));
    loaded.set(project, d);
  }
  return d;
}

/** Takes the digest of every stage's code now: a worker calls this right after importing the project. */
export function recordLoadedCode(project: Project): void {
  const d = loadedCode(project);
  for (const s of project.stages) d.of(s.module);
}

/** The node's key was computed for other code than would run it. */
export class CodeChangedError extends Error {
  override readonly name = 'CodeChangedError';
}

/**
 * Throws CodeChangedError unless `expected` (the code digest in the node's key) is the code of
 * `stage` as this process loaded it and as it is on disk now, naming the files that differ.
 */
export function checkStageCode(project: Project, stage: AnyStage, expected: string, moment: 'before' | 'after', nodeId: string): void {
  const digests = loadedCode(project);
  const atLoad = digests.of(stage.module);
  const now = digests.current(stage.module);
  if (moment === 'before' && atLoad.digest !== expected) {
    throw new CodeChangedError(
      `refusing to run ${nodeId}: its key was computed for other code of stage '${stage.name}' than this worker loaded` +
        ` (a source changed between planning and this worker's start). Run repro again to plan with the current code.`,
    );
  }
  if (now.digest !== atLoad.digest) {
    const files = changedFiles(atLoad, now);
    const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, … (${files.length} files)` : '');
    throw new CodeChangedError(
      `${moment === 'before' ? 'refusing to run' : 'not registering'} ${nodeId}: code of stage '${stage.name}' changed on disk` +
        ` ${moment === 'before' ? 'since this worker loaded it' : 'while it ran'} (${shown}). Run repro again to run it with the current code.`,
    );
  }
}
