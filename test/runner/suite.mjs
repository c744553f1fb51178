// Runs test files, several at a time, each in its own process, in the order given.
//
// Why not `node --test a b c`: Node 20's runner sorts the files it is given by name before it
// starts them, so an order chosen for the schedule is lost (the longest file, the Slurm
// executor's, started last and ran alone at the end). Here each file runs as
// `node --import tsx --test-reporter=tap <file>`, its output held until it ends and then written
// whole, so that files running side by side do not interleave.
import { spawn } from 'node:child_process';

export const COUNTS = ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

/** How long an interrupted file may take to end after its SIGINT. */
const INTERRUPT_GRACE_MS = 5000;

/**
 * The totals of a file's TAP summary (its last `# pass N` and so on), or undefined when it has none
 * (the process died before it could print one).
 * @param {string} output
 * @returns {Record<string, number> | undefined}
 */
export function tapSummary(output) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const key of COUNTS) {
    const all = [...output.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
    if (all.length === 0) return undefined;
    counts[key] = Number(all[all.length - 1][1]);
  }
  return counts;
}

/**
 * @typedef {{ file: string, output: string, code: number | null, signal: string | null, seconds: number, counts: Record<string, number> | undefined, timedOut: boolean, ok: boolean }} FileResult
 * @typedef {{ results: FileResult[], totals: Record<string, number>, failed: string[], interrupted: boolean, seconds: number }} SuiteResult
 */

/**
 * Runs `files` (paths relative to `cwd`, or absolute) in that order, `lanes` at a time: a lane
 * that finishes a file starts the next one not yet started.
 *
 * Each file runs in a process group of its own. A file still running after `fileTimeoutS` is
 * killed with everything it started and fails, so that one hung file cannot hold the suite (or CI)
 * until an outer limit ends it without saying which file it was. When a file's process exits, what
 * it left running in its group is killed too.
 * @param {{ cwd: string, files: string[], lanes: number, write: (text: string) => void, signal?: AbortSignal, fileTimeoutS?: number }} options
 * @returns {Promise<SuiteResult>}
 */
export async function runSuite({ cwd, files, lanes, write, signal, fileTimeoutS = 900 }) {
  const started = Date.now();
  /** @type {FileResult[]} */
  const results = [];
  const totals = Object.fromEntries(COUNTS.map((k) => [k, 0]));
  /** @type {string[]} */
  const failed = [];
  /** @type {Set<(signal: NodeJS.Signals) => void>} */
  const groups = new Set();
  // Files run in groups of their own, out of the terminal's reach: an interrupt is passed on to
  // each (Ctrl-C), then, after a grace period for their cleanup, SIGKILL ends what is left.
  const stop = () => {
    for (const signalGroup of groups) signalGroup('SIGINT');
    setTimeout(() => {
      for (const signalGroup of groups) signalGroup('SIGKILL');
    }, INTERRUPT_GRACE_MS).unref();
  };
  signal?.addEventListener('abort', stop);

  /** @param {string} file @returns {Promise<FileResult>} */
  const runFile = (file) =>
    new Promise((resolve) => {
      const begun = Date.now();
      // Without NODE_TEST_CONTEXT from an outer runner: each file reports on its own.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=tap', file], {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      /** @param {NodeJS.Signals} sig */
      const signalGroup = (sig) => {
        try {
          process.kill(-(/** @type {number} */ (child.pid)), sig);
        } catch {
          // The group is empty: nothing left to signal.
        }
      };
      groups.add(signalGroup);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        signalGroup('SIGKILL');
      }, fileTimeoutS * 1000);
      /** @type {Buffer[]} */
      const chunks = [];
      child.stdout.on('data', (d) => chunks.push(d));
      child.stderr.on('data', (d) => chunks.push(d));
      child.on('exit', () => signalGroup('SIGKILL'));
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        groups.delete(signalGroup);
        const output = Buffer.concat(chunks).toString();
        const counts = tapSummary(output);
        const ok = !timedOut && code === 0 && counts !== undefined && counts.fail === 0 && counts.cancelled === 0;
        resolve({ file, output, code, signal: sig, seconds: (Date.now() - begun) / 1000, counts, timedOut, ok });
      });
    });

  let next = 0;
  const lane = async () => {
    while (!signal?.aborted && next < files.length) {
      const r = await runFile(files[next++]);
      results.push(r);
      const counts = r.counts;
      if (counts) for (const k of COUNTS) totals[k] += counts[k];
      if (!r.ok) failed.push(r.file);
      const how = r.timedOut
        ? `timed out after ${fileTimeoutS} s: killed with everything it started`
        : r.signal
          ? `killed by ${r.signal}`
          : counts
            ? `${counts.pass} pass, ${counts.fail} fail, ${counts.skipped} skip`
            : `exit ${r.code}, no summary`;
      write(`# ━━ ${r.file} (${r.seconds.toFixed(1)} s, ${how}) ━━\n${r.output}${r.output.endsWith('\n') ? '' : '\n'}`);
      write(`# ━━ ${results.length}/${files.length} files, ${((Date.now() - started) / 1000).toFixed(0)} s ━━\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, files.length) }, lane));
  signal?.removeEventListener('abort', stop);
  return { results, totals, failed, interrupted: signal?.aborted ?? false, seconds: (Date.now() - started) / 1000 };
}
