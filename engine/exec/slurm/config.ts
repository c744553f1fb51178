import { z } from 'zod';
import type { AnyStage, EstimateHints } from '../../core/stage.ts';
import { UserError } from '../../core/result.ts';

/**
 * The `slurm:` mapping of a params.yaml profile and how it turns into sbatch resource flags per
 * node. A project puts `slurmSettingsSchema` into its profile schema, so these keys are validated
 * with the rest of the profile (errors name `profiles.<name>.slurm.<key>`). Resources come from, in
 * order: the stage's entry under `stages:`, the mapping's defaults, and for the time limit the
 * stage's own estimate (times `timeFactor`, at least `minTime`).
 */

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const TIME = /^(?:\d+-\d+(?::\d+){0,2}|\d+(?::\d+){0,2})$/;
const timeString = z.string().regex(TIME, 'a Slurm time: minutes, HH:MM:SS or D-HH:MM:SS');
/** --mem values: megabytes, or a number with K/M/G/T. */
const memString = z.union([z.number().int().positive(), z.string().regex(/^\d+[KMGT]?$/, 'a Slurm memory size such as 4G or 500M')]);
/** Extra sbatch arguments must be options: a bare word would be taken as the job script. */
const sbatchOption = z.string().regex(/^--?[A-Za-z]/, 'an sbatch option starting with - or --');

const resources = {
  cpus: z.number().int().positive().optional(),
  mem: memString.optional(),
  gpus: z.number().int().min(0).optional(),
  time: timeString.optional(),
  partition: z.string().min(1).optional(),
  extra: z.array(sbatchOption).optional(),
};

export const stageResourcesSchema = z.object(resources).strict();

export const slurmSettingsSchema = z
  .object({
    ...resources,
    account: z.string().min(1).optional(),
    qos: z.string().min(1).optional(),
    /** How a GPU is asked for: `--gres=gpu:N` (works on every Slurm) or `--gpus=N` (cons_tres clusters). */
    gpuFlag: z.enum(['gres', 'gpus']).default('gres'),
    /** A stage without an explicit time gets its estimate times this, but at least `minTime`. */
    timeFactor: z.number().positive().default(3),
    minTime: timeString.default('00:10:00'),
    /** Derived time limits are capped here (a partition's MaxTime); explicit ones are not. */
    maxTime: timeString.optional(),
    /** Per stage name: resources that override the defaults above. */
    stages: z.record(z.string(), stageResourcesSchema).default({}),
    /**
     * How long a job may stay PENDING for a reason Slurm cannot satisfy as the cluster stands
     * (BadConstraints, PartitionConfig, a down or drained requested node, ...) before its node
     * fails with that reason; unset: such jobs are reported in the progress and left waiting.
     */
    maxPending: timeString.optional(),
    /** Resubmissions of a node whose job ended by a Slurm state (TIMEOUT, NODE_FAIL, ...); 0 = none. */
    retries: z.number().int().min(0).default(0),
    /** The node binary on the compute nodes (default: the driver's own, which must be on the shared file system). */
    node: z.string().min(1).optional(),
  })
  .strict();

export type SlurmSettings = z.infer<typeof slurmSettingsSchema>;
export type ExecutorKind = 'local' | 'inline' | 'slurm';

/** What a project hands the CLI about where its nodes run (from the validated profile). */
export interface ExecutorSettings {
  readonly executor?: 'local' | 'slurm';
  readonly slurm?: SlurmSettings;
}

let defaults: SlurmSettings | undefined;

/**
 * The settings of a profile without a `slurm:` mapping. Parsed on first use, not at import: a
 * schema's first parse compiles it, which a run that submits nothing to Slurm need not pay.
 */
export const defaultSlurm = (): SlurmSettings => (defaults ??= slurmSettingsSchema.parse({}));

/** Seconds in a Slurm time string. */
export function parseSlurmTime(t: string): number {
  if (!TIME.test(t)) throw new Error(`not a Slurm time: '${t}'`);
  const [dayPart, rest] = t.includes('-') ? (t.split('-') as [string, string]) : [undefined, t];
  const parts = rest.split(':').map(Number);
  if (dayPart !== undefined) {
    const [h = 0, m = 0, s = 0] = parts;
    return Number(dayPart) * 86400 + h * 3600 + m * 60 + s;
  }
  if (parts.length === 1) return parts[0]! * 60;
  if (parts.length === 2) return parts[0]! * 60 + parts[1]!;
  return parts[0]! * 3600 + parts[1]! * 60 + parts[2]!;
}

/** D-HH:MM:SS (or HH:MM:SS under a day), rounded up to whole minutes. */
export function formatSlurmTime(seconds: number): string {
  const total = Math.ceil(Math.max(60, seconds) / 60) * 60;
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00`;
  return d > 0 ? `${d}-${hms}` : hms;
}

export interface NodeResources {
  readonly cpus: number;
  readonly mem: string;
  readonly gpus: number;
  readonly time: string;
  readonly partition: string | undefined;
}

export function nodeResources(settings: SlurmSettings, stage: AnyStage, params: unknown, hints: EstimateHints = {}): NodeResources {
  const own = settings.stages[stage.name] ?? {};
  const estimate = stage.estimateSeconds?.(params, hints);
  const derived = Math.max(parseSlurmTime(settings.minTime), (estimate ?? 0) * settings.timeFactor);
  const capped = settings.maxTime === undefined ? derived : Math.min(derived, parseSlurmTime(settings.maxTime));
  const time = own.time ?? settings.time ?? formatSlurmTime(capped);
  const mem = own.mem ?? settings.mem ?? '2G';
  return {
    cpus: own.cpus ?? settings.cpus ?? 1,
    mem: typeof mem === 'number' ? `${mem}M` : mem,
    gpus: own.gpus ?? settings.gpus ?? 0,
    time,
    partition: own.partition ?? settings.partition,
  };
}

/** The sbatch flags for a node's resources (the job name, comment and output are added by the executor). */
export function sbatchResourceArgs(settings: SlurmSettings, stage: AnyStage, params: unknown, hints: EstimateHints = {}): string[] {
  const r = nodeResources(settings, stage, params, hints);
  const args = [`--cpus-per-task=${r.cpus}`, `--mem=${r.mem}`, `--time=${r.time}`];
  if (r.gpus > 0) args.push(settings.gpuFlag === 'gpus' ? `--gpus=${r.gpus}` : `--gres=gpu:${r.gpus}`);
  if (r.partition !== undefined) args.push(`--partition=${r.partition}`);
  if (settings.account !== undefined) args.push(`--account=${settings.account}`);
  if (settings.qos !== undefined) args.push(`--qos=${settings.qos}`);
  args.push(...(settings.extra ?? []), ...(settings.stages[stage.name]?.extra ?? []));
  return args;
}

/** `slurm.stages` may only name stages the project has: a typo would silently use the defaults. */
export function checkStageNames(settings: SlurmSettings, stages: readonly AnyStage[], where: string): void {
  const known = new Set(stages.map((s) => s.name));
  for (const name of Object.keys(settings.stages)) {
    if (!known.has(name)) throw new UserError(`${where}.slurm.stages.${name}: no such stage (stages: ${[...known].join(', ')})`);
  }
}
