import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { staleJobFolders } from '../exec/slurm/gc.ts';
import type { QueueEntry } from '../exec/slurm/commands.ts';
import type { Workspace } from './workspace.ts';

/** `gc` and `verify`: keeping the blob store honest and small. */

export interface GcReport {
  readonly unreferenced: number;
  readonly bytes: number;
  readonly views: number;
  /** Scratch folders of registered nodes (leftovers), and with `scratch: 'all'` of unfinished ones too. */
  readonly scratch: number;
  /** Scratch folders kept: checkpoints of unfinished nodes, which a later repro resumes from. */
  readonly resumable: number;
  /** Slurm job folders of interrupted runs (driver gone, job no longer queued), and those kept. */
  readonly jobFolders: number;
  readonly jobFoldersKept: number;
  /** squeue did not answer: job folders that name a job were all kept. */
  readonly queueError?: string;
  readonly applied: boolean;
}

export interface GcOptions {
  /** 'done': only scratch of registered nodes; 'all': also unfinished nodes' checkpoints (not those running now). */
  readonly scratch?: 'done' | 'all';
  /** Slurm's queue (default: the real squeue), asked only where job folders exist. */
  readonly queue?: () => Promise<Map<string, QueueEntry>>;
  /** The same by output file, asked only where a job folder has no job id. */
  readonly queueByOutput?: () => Promise<Map<string, QueueEntry>>;
}

/** Half-built view folders younger than this may belong to a running materialisation. */
const LEFTOVER_AGE_MS = 3_600_000;

/** Blobs that no registered node's output refers to (tree members included). Deletes them if `apply`. */
export async function collectGarbage(ws: Workspace, apply: boolean, options: GcOptions = {}): Promise<GcReport> {
  const referenced = new Set<string>();
  const referencedTrees = new Set<string>();
  for (const o of ws.db.allOutputs()) {
    try {
      for (const d of await ws.store.blobsOf(o)) referenced.add(d);
    } catch {
      referenced.add(o.digest); // a missing manifest: verify reports it; gc keeps what it can't read
    }
    if (o.kind === 'dir') referencedTrees.add(o.digest);
  }
  let unreferenced = 0;
  let bytes = 0;
  for (const d of await ws.store.allBlobs()) {
    if (referenced.has(d)) continue;
    unreferenced++;
    bytes += (await stat(ws.store.blobPath(d)).catch(() => ({ size: 0 }))).size;
    if (apply) {
      await ws.store.discardBlob(d);
      ws.db.forgetBlobStat(d);
      ws.db.forgetArtifact(d);
    }
  }
  let views = 0;
  for (const v of await ws.store.allTreeViews()) {
    if (referencedTrees.has(v)) continue;
    views++;
    if (apply) await ws.store.removeTreeView(v);
  }
  for (const leftover of await ws.store.leftoverViewFolders(LEFTOVER_AGE_MS)) {
    views++;
    if (apply) await rm(leftover, { recursive: true, force: true });
  }
  // Scratch folders are named by node key. A registered node's is a leftover (success removes it);
  // an unregistered one holds the checkpoints a resume needs, kept unless asked, and never while
  // a run holds that node's lock.
  let scratch = 0;
  let resumable = 0;
  const scratchDir = join(ws.artifactsDir, 'scratch');
  const names = existsSync(scratchDir) ? await readdir(scratchDir) : [];
  for (const key of names) {
    const locked = existsSync(join(ws.artifactsDir, 'locks', `${key}.lock`));
    const done = ws.db.node(key) !== undefined;
    if (locked || (!done && options.scratch !== 'all')) {
      resumable++;
      continue;
    }
    scratch++;
    bytes += await folderBytes(join(scratchDir, key));
    if (apply) await rm(join(scratchDir, key), { recursive: true, force: true });
  }
  const jobs = await staleJobFolders(ws.artifactsDir, { host: ws.host, queue: options.queue, queueByOutput: options.queueByOutput });
  for (const { dir, jobId } of jobs.stale) {
    bytes += await folderBytes(dir);
    if (apply) {
      await rm(dir, { recursive: true, force: true });
      // The job's own staging folder, if it died before moving its outputs into the store.
      if (jobId) await ws.store.removeStaging(`j${jobId}-`);
    }
  }
  return {
    unreferenced,
    bytes,
    views,
    scratch,
    resumable,
    jobFolders: jobs.stale.length,
    jobFoldersKept: jobs.kept,
    ...(jobs.queueError !== undefined ? { queueError: jobs.queueError } : {}),
    applied: apply,
  };
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

export interface VerifyProblem {
  readonly node: string;
  readonly output: string;
  readonly state: string;
}

/** Rehashes every registered output; a node with a bad output is unregistered so repro recomputes it. */
export async function verifyAll(ws: Workspace, onProblem: (p: VerifyProblem) => void): Promise<{ checked: number; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  let checked = 0;
  for (const o of ws.db.allOutputs()) {
    checked++;
    const r = await ws.integrity.check(o, true);
    if (r.state !== 'ok') {
      const node = ws.db.node(o.node_key);
      const p = { node: node?.node_id ?? o.node_key, output: o.name, state: r.state };
      problems.push(p);
      onProblem(p);
      ws.db.unregister(o.node_key);
    }
  }
  return { checked, problems };
}
