import { userInfo } from 'node:os';

/**
 * Slurm's own command-line tools, called with argument arrays (never a shell string), and the
 * parsing of what they print. Every call has a timeout: a hung controller must not hang the driver.
 */

const TIMEOUT_MS = 60_000;

export class SlurmCommandError extends Error {
  override readonly name = 'SlurmCommandError';
}

async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  // Loaded on first use: execa and its dependencies cost ~0.1 s of every start, and only the
  // Slurm paths call a command.
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, timeout: TIMEOUT_MS, input, stripFinalNewline: true });
  if (r.failed) {
    const why = r.timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : r.exitCode !== undefined ? `exit ${r.exitCode}` : r.shortMessage;
    const said = String(r.stderr || r.stdout || r.shortMessage || '').trim();
    throw new SlurmCommandError(`${cmd} ${why}: ${said.slice(0, 500)}`);
  }
  return r.stdout;
}

/** Whether Slurm's client tools answer on this host (for tests and a clear error before submitting). */
export async function slurmAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const out = await run('sinfo', ['-h', '-o', '%t']);
    const states = out
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (states.length === 0) return { ok: false, reason: 'sinfo lists no nodes' };
    if (!states.some((s) => /^(idle|mix|alloc|comp)/.test(s))) return { ok: false, reason: `no node accepts jobs (sinfo: ${states.join(', ')})` };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** Submits a job script; `--parsable` prints `jobid` or `jobid;cluster`. */
export async function sbatch(args: readonly string[], script: string, scriptArgs: readonly string[]): Promise<string> {
  const out = await run('sbatch', ['--parsable', ...args, script, ...scriptArgs]);
  const id = parseSbatchOutput(out);
  if (id === undefined) throw new SlurmCommandError(`sbatch printed no job id: '${out.slice(0, 200)}'`);
  return id;
}

export function parseSbatchOutput(out: string): string | undefined {
  const last = out.trim().split('\n').pop()?.trim() ?? '';
  const id = last.split(';')[0]!;
  return /^\d+(_\d+)?$/.test(id) ? id : undefined;
}

export interface QueueEntry {
  readonly id: string;
  readonly state: string;
  readonly reason: string;
}

/** Everything the controller still knows about this user's jobs (finished ones stay for MinJobAge). */
export async function squeue(): Promise<Map<string, QueueEntry>> {
  return parseSqueue(await run('squeue', ['-h', '--states=all', '-u', userInfo().username, '-o', '%i|%T|%r']));
}

export function parseSqueue(out: string): Map<string, QueueEntry> {
  const jobs = new Map<string, QueueEntry>();
  for (const line of out.split('\n')) {
    const [id, state, ...reason] = line.trim().split('|');
    if (!id || !state) continue;
    jobs.set(id, { id, state: state.replace(/\+$/, ''), reason: reason.join('|') });
  }
  return jobs;
}

/**
 * This user's jobs by their standard output file (--output; the driver names it after the
 * execution, so it is unique): how a job is found whose id its driver died before recording.
 */
export async function squeueByOutput(): Promise<Map<string, QueueEntry>> {
  return parseSqueueByOutput(await run('squeue', ['-h', '--states=all', '-u', userInfo().username, '-O', 'JobID:|,State:|,StdOut:|']));
}

export function parseSqueueByOutput(out: string): Map<string, QueueEntry> {
  const jobs = new Map<string, QueueEntry>();
  for (const line of out.split('\n')) {
    const [id, state, output] = line.trim().split('|');
    if (!id || !state || !output) continue;
    // A retried job's successor writes to the same file: the newest job is the one that counts.
    const have = jobs.get(output);
    if (have !== undefined && Number.parseInt(have.id, 10) > Number.parseInt(id, 10)) continue;
    jobs.set(output, { id, state: state.replace(/\+$/, ''), reason: '' });
  }
  return jobs;
}

/** One scancel for all the given jobs. */
export async function scancel(ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await run('scancel', [...ids]);
}

let accounting: Promise<boolean> | undefined;
/** Whether the cluster keeps job accounting (`sacct` answers); many small clusters and our CI do not. */
export function hasAccounting(): Promise<boolean> {
  accounting ??= run('scontrol', ['show', 'config']).then(
    (out) => !/AccountingStorageType\s*=\s*accounting_storage\/none/.test(out),
    () => false,
  );
  return accounting;
}

/** A finished job's final state from accounting, when the controller has forgotten it. */
export async function sacctState(id: string): Promise<string | undefined> {
  const out = await run('sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State']);
  const state = out.split('\n')[0]?.trim().split(' ')[0];
  return state ? state.replace(/\+$/, '') : undefined;
}

/**
 * Pending reasons (squeue's %r) that no amount of waiting clears as the cluster stands: the job
 * asks for what its partition, QOS or account can never give it, or only for nodes that are down
 * or drained (Slurm then says `ReqNodeNotAvail, UnavailableNodes:...`). Not here: reasons that
 * clear as other jobs end, such as Resources, Priority or AssocMaxJobsLimit (the account's cap on
 * running jobs, which a run with more --jobs than the cap meets on every node).
 */
const HOPELESS = new Set([
  'BadConstraints',
  'PartitionConfig',
  'PartitionNodeLimit',
  'PartitionTimeLimit',
  'PartitionDown',
  'PartitionInactive',
  'InvalidAccount',
  'InvalidQOS',
  'AccountNotAllowed',
  'QOSNotAllowed',
  'DependencyNeverSatisfied',
  'JobHeldAdmin',
]);
/** Per-job limits (AssocMaxCpuPerJobLimit, QOSMaxWallDurationPerJobLimit, ...): the job alone exceeds them. */
const PER_JOB_LIMIT = /^(Assoc|QOS)Max\w*PerJob(Limit)?$/;

/** The reason, if it means the job cannot start as the cluster stands; undefined for reasons that clear by waiting. */
export function unsatisfiable(reason: string): string | undefined {
  const r = reason.trim();
  const code = r.split(/[,\s]/)[0] ?? '';
  if (HOPELESS.has(code) || PER_JOB_LIMIT.test(code)) return r;
  if (code === 'ReqNodeNotAvail' && /UnavailableNodes:\S/.test(r)) return r;
  return undefined;
}

/** States in which a job may still produce a result. */
export const ACTIVE_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'RESV_DEL_HOLD',
]);
