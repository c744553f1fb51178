// Runs every test/**/*.test.ts file through tsx, five files at a time, the longest first.
// Usage: node test/run.mjs [substring-filter ...]
// TEST_CONCURRENCY sets the number of lanes (5); TEST_FILE_TIMEOUT_S the seconds a file may run (900).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COUNTS, runSuite } from './runner/suite.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');

/** @param {string} dir @returns {string[]} */
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : walk(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

// The longest files start first, so that none of them starts late and runs alone while the other
// lanes idle. Most of them wait rather than compute (on Slurm's one-minute time limits, on locks
// held by processes they kill, on the CLI processes they spawn), so five lanes keep two cores busy.
// Ordered by their wall times in a full run: the runner prints the slowest files at its end, which
// is how this list is kept up to date (docs/performance.md, 'The test suite').
const LONGEST_FIRST = [
  'test/slurm-executor.test.ts',
  'test/engine-lock.test.ts',
  'test/backend-batch-invariance.test.ts',
  'test/experiments-e2e.test.ts',
  'test/engine-workers.test.ts',
  'test/report-html.test.ts',
  'test/engine-compiled-worker.test.ts',
  'test/engine-copied-checkout.test.ts',
  'test/engine-crash.test.ts',
  'test/backend-webgpu.test.ts',
  'test/fuzz-inputs.test.ts',
  'test/experiments-kill-resume.test.ts',
  'test/slurm-pipeline.test.ts',
  'test/engine-code.test.ts',
  'test/cli-errors.test.ts',
];
const renamed = LONGEST_FIRST.filter((f) => !existsSync(join(root, f)));
if (renamed.length > 0) {
  console.error(`test/run.mjs: LONGEST_FIRST names files that do not exist: ${renamed.join(', ')}`);
  process.exit(1);
}
/** @param {string} f */
const rank = (f) => {
  const i = LONGEST_FIRST.indexOf(f);
  return i === -1 ? LONGEST_FIRST.length : i;
};

const filters = process.argv.slice(2);
const files = walk(testDir)
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
  .sort((a, b) => rank(a) - rank(b));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
const lanes = Number(process.env.TEST_CONCURRENCY ?? '5');
if (!Number.isInteger(lanes) || lanes < 1) {
  console.error(`TEST_CONCURRENCY must be a whole number of at least 1, not '${process.env.TEST_CONCURRENCY}'`);
  process.exit(2);
}

const fileTimeoutS = Number(process.env.TEST_FILE_TIMEOUT_S ?? '900');
if (!(fileTimeoutS > 0)) {
  console.error(`TEST_FILE_TIMEOUT_S must be a positive number of seconds, not '${process.env.TEST_FILE_TIMEOUT_S}'`);
  process.exit(2);
}

// The files end within seconds of an interrupt (runSuite passes it on, then kills what is left), so
// a second Ctrl-C waits for that too rather than leaving them running.
const interrupt = new AbortController();
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.on(signal, () => interrupt.abort());

const suite = await runSuite({ cwd: root, files, lanes, write: (t) => process.stdout.write(t), signal: interrupt.signal, fileTimeoutS });
const slowest = [...suite.results].sort((a, b) => b.seconds - a.seconds).slice(0, 15);
console.log(`\n# slowest files (wall seconds, ${lanes} at a time):`);
for (const r of slowest) console.log(`#   ${r.seconds.toFixed(1).padStart(6)}  ${r.file}`);
console.log(`# ${suite.results.length} of ${files.length} files in ${suite.seconds.toFixed(1)} s`);
for (const k of COUNTS) console.log(`# ${k} ${suite.totals[k]}`);
if (suite.interrupted) console.log('# interrupted');
if (suite.failed.length > 0) console.log(`# files with failures:\n${suite.failed.map((f) => `#   ${f}`).join('\n')}`);
process.exit(suite.failed.length > 0 || suite.interrupted || suite.results.length < files.length ? 1 : 0);
