// Runs every test/**/*.test.ts file with node's test runner through tsx.
// Usage: node test/run.mjs [substring-filter ...]
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : walk(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

// The runner starts files in the order given, five at a time on any machine: the longest ones
// first, so that no long file starts last and runs alone while the other lanes idle. The two
// longest mostly wait (on Slurm's one-minute time limits, on locks held by processes they kill),
// and many others wait on the CLI processes they spawn, so with three lanes two cores were busy
// less than three quarters of the run; a fourth and a fifth lane fill them. Ordered by their wall
// times in a full run (docs/performance.md, 'The test suite').
const LONGEST_FIRST = [
  'test/slurm-executor.test.ts',
  'test/engine-lock.test.ts',
  'test/backend-batch-invariance.test.ts',
  'test/experiments-e2e.test.ts',
  'test/report-html.test.ts',
  'test/engine-compiled-worker.test.ts',
  'test/engine-crash.test.ts',
  'test/slurm-pipeline.test.ts',
  'test/engine-workers.test.ts',
  'test/fuzz-inputs.test.ts',
  'test/engine-copied-checkout.test.ts',
  'test/backend-webgpu.test.ts',
  'test/experiments-kill-resume.test.ts',
];
const renamed = LONGEST_FIRST.filter((f) => !existsSync(join(root, f)));
if (renamed.length > 0) {
  console.error(`test/run.mjs: LONGEST_FIRST names files that do not exist: ${renamed.join(', ')}`);
  process.exit(1);
}
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
const concurrency = process.env.TEST_CONCURRENCY ?? '5';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
