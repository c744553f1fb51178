import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../base/atomic-write.ts';
import { z } from 'zod';
import type { ArtifactRef } from '../../state/store.ts';
import type { NodeTask } from '../../run/worker-protocol.ts';

/**
 * The files through which a driver and a batch job on another host talk, on the shared file
 * system: the driver writes a task manifest (everything the job needs, inputs named by digest),
 * the job appends events (progress, logs, series) and writes a result file last. Both files are
 * written atomically (temporary name, fsync, rename), so a reader sees all of one or nothing.
 */

export interface InputRef {
  readonly digest: string;
  readonly kind: 'file' | 'dir';
}

export interface TaskManifest {
  readonly format: 1;
  /** As the local worker would get it; input paths are recomputed by the job from `inputRefs`. */
  readonly task: NodeTask;
  readonly inputRefs: Readonly<Record<string, InputRef | readonly InputRef[] | undefined>>;
  readonly outputKinds: Readonly<Record<string, 'file' | 'dir'>>;
  readonly artifactsDir: string;
  /** Added to the job's environment before the project is imported. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The job's standard output file (sbatch --output), unique per execution: how `gc` finds the
   * job of a folder whose driver died before it wrote the job id (absent in older folders).
   */
  readonly output?: string;
}

const ref = z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/), kind: z.enum(['file', 'dir']), size: z.number().int().min(0) }).strict();

const resultSchema = z
  .object({
    format: z.literal(1),
    status: z.enum(['succeeded', 'failed']),
    outputs: z.record(z.string(), ref).optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
    error: z.string().optional(),
    host: z.string(),
    pid: z.number().int(),
    jobId: z.string().optional(),
    startedAt: z.string(),
    durationS: z.number().min(0),
  })
  .strict();

export type TaskResult = z.infer<typeof resultSchema> & { outputs?: Record<string, ArtifactRef> };

export const jobFiles = (dir: string) => ({
  manifest: join(dir, 'task.json'),
  events: join(dir, 'events.jsonl'),
  result: join(dir, 'result.json'),
  /** The id sbatch gave the folder's job, written by the driver (after a retry, the newest job's). */
  jobId: join(dir, 'job-id'),
});

/** The job id recorded in a job folder; '' where none was written (the driver died first). */
export async function recordedJobId(dir: string): Promise<string> {
  return (await readFile(jobFiles(dir).jobId, 'utf8').catch(() => '')).trim();
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  writeFileAtomic(path, JSON.stringify(value));
}

export async function readManifest(path: string): Promise<TaskManifest> {
  const m = JSON.parse(await readFile(path, 'utf8')) as TaskManifest;
  if (m.format !== 1 || typeof m.task !== 'object' || typeof m.artifactsDir !== 'string') throw new Error(`${path} is not a task manifest`);
  return m;
}

/** The job's result, undefined while absent; a malformed one is an error naming the file. */
export async function readResult(path: string): Promise<TaskResult | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`result file ${path} is not valid JSON (truncated or corrupt)`);
  }
  const parsed = resultSchema.safeParse(data);
  if (!parsed.success) throw new Error(`result file ${path} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data as TaskResult;
}
