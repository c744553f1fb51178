import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive } from '../../state/process-alive.ts';
import { ACTIVE_STATES, squeue, squeueByOutput, type QueueEntry } from './commands.ts';
import { jobFiles, readManifest, recordedJobId } from './task-manifest.ts';

/**
 * `gc`'s part for the Slurm executor: the job folders (task manifest, events, result, log) that
 * interrupted runs leave under `slurm/jobs/`. A folder goes only when both hold:
 *   - no live driver holds its node's lock (the driver holds it from before submission until it
 *     registers the result; a lock whose holder is dead on this host, or whose heartbeat stopped
 *     on another host, belongs to a driver that is gone), and
 *   - its job is no longer in the queue (a later repro would reattach to a queued or running one).
 *     A folder without a job id (its driver died between submitting and recording the id, or before
 *     sbatch answered) is looked up by the job's output file, which its task manifest names.
 * If squeue does not answer, every folder that names a job, or may have one, is kept: gone and
 * queued cannot be told apart.
 * A finished job's result that no driver collected goes with its folder (repro then runs the node again).
 */

/** A lock's holder refreshes its mtime every 5 s; one unchanged this long has no live holder. */
const FOREIGN_LOCK_STALE_MS = 60_000;

export interface JobFolderVerdict {
  /** Folders to remove, with the job each names ('' if sbatch never answered). */
  readonly stale: ReadonlyArray<{ readonly dir: string; readonly jobId: string }>;
  /** Kept because a live driver runs them or their job is still queued or running. */
  readonly kept: number;
  /** Why squeue could not be asked (folders naming a job were then all kept). */
  readonly queueError?: string;
}

export interface JobFolderOptions {
  readonly host: string;
  /** The queue (default: the real squeue; tests script it). */
  readonly queue?: () => Promise<Map<string, QueueEntry>>;
  /** The queue by output file (default: the real squeue; tests script it). */
  readonly queueByOutput?: () => Promise<Map<string, QueueEntry>>;
}

/** Node-key prefixes (the 16 characters a job folder is named by) whose lock has a live holder. */
async function liveLockPrefixes(artifactsDir: string, host: string): Promise<Set<string>> {
  const dir = join(artifactsDir, 'locks');
  const live = new Set<string>();
  for (const name of existsSync(dir) ? await readdir(dir) : []) {
    if (!name.endsWith('.lock')) continue;
    const path = join(dir, name);
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const h = JSON.parse(text) as { pid?: unknown; host?: unknown };
      const alive = h.host === host && typeof h.pid === 'number' ? isAlive(h.pid) : Date.now() - st.mtimeMs < FOREIGN_LOCK_STALE_MS;
      if (alive) live.add(name.slice(0, 16));
    } catch {
      // Half-written or just released: taken as live, the safe side.
      live.add(name.slice(0, 16));
    }
  }
  return live;
}

/** Whether the job under `key` is queued or running; true when squeue did not answer (gone and queued cannot be told apart). */
function inQueue(jobs: Map<string, QueueEntry> | undefined, key: string): boolean {
  if (jobs === undefined) return true;
  const entry = jobs.get(key);
  return entry !== undefined && ACTIVE_STATES.has(entry.state);
}

export async function staleJobFolders(artifactsDir: string, o: JobFolderOptions): Promise<JobFolderVerdict> {
  const jobsDir = join(artifactsDir, 'slurm', 'jobs');
  const folders = existsSync(jobsDir) ? await readdir(jobsDir) : [];
  if (folders.length === 0) return { stale: [], kept: 0 };
  const live = await liveLockPrefixes(artifactsDir, o.host);
  let queue: Map<string, QueueEntry> | undefined;
  let queueError: string | undefined;
  try {
    queue = await (o.queue ?? squeue)();
  } catch (e) {
    queueError = (e as Error).message;
  }
  // Asked only when some folder has no job id, and at most once.
  let byOutput: Promise<Map<string, QueueEntry> | undefined> | undefined;
  const askByOutput = () =>
    (byOutput ??= (o.queueByOutput ?? squeueByOutput)().catch((e: unknown) => {
      queueError ??= (e as Error).message;
      return undefined;
    }));
  const stale: Array<{ dir: string; jobId: string }> = [];
  let kept = 0;
  for (const name of folders) {
    const dir = join(jobsDir, name);
    if (live.has(name.slice(0, 16))) {
      kept++;
      continue;
    }
    const jobId = await recordedJobId(dir);
    let queued: boolean;
    if (jobId !== '') queued = inQueue(queue, jobId);
    else {
      // Without a manifest naming the output file (sbatch was never reached, or the folder predates
      // that field) it cannot be matched to a job, and goes.
      const output = await readManifest(jobFiles(dir).manifest).then(
        (m) => m.output,
        () => undefined,
      );
      queued = output !== undefined && inQueue(await askByOutput(), output);
    }
    if (queued) kept++;
    else stale.push({ dir, jobId });
  }
  return { stale, kept, ...(queueError !== undefined ? { queueError } : {}) };
}
