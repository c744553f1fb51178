// oneDNN's sgemm (Debian's libdnnl 2.6.3) keeps live data below the stack pointer, beyond the
// red zone, so a signal delivered mid-call overwrote it and the process aborted with glibc heap
// corruption: `node --cpu-prof` (SIGPROF every interval) crashed 6 runs in 6 of this loop before
// the addon blocked signals around its oneDNN calls (native/src/signal_guard.h). A stress test:
// the crash is a race, but at a 100 µs sampling interval it came within the first second.
import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATIVE_ADDON_PATH } from '../ml/backend/native/addon.ts';

const skip = nativeSkip();

// Random shapes, fresh output arrays, a few kept alive: the allocation pattern of a forward pass.
const LOOP = `
const addon = require(${JSON.stringify(NATIVE_ADDON_PATH)});
addon.setNumThreads(1);
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const fill = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = rand() - 0.5; return a; };
const keep = [];
const t0 = Date.now();
let calls = 0;
while (Date.now() - t0 < 2000) {
  const m = 1 + Math.floor(rand() * 200), n = 1 + Math.floor(rand() * 200), k = 1 + Math.floor(rand() * 600);
  const c = new Float32Array(m * n);
  addon.sgemm(0, 0, m, n, k, fill(m * k), fill(k * n), c, 1, 0, 0);
  keep.push(c);
  if (keep.length > 50) keep.shift();
  calls++;
}
console.log('calls ' + calls);
`;

test('sgemm under a sampling profiler (SIGPROF mid-call) does not corrupt the heap', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-sig-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', '-e', LOOP], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr.slice(-400)}`);
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr.slice(-400)}`);
    assert.match(r.stdout, /calls [1-9]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// OpenMP's worker threads run parts of every oneDNN call, so they must never take a signal: a
// process-directed one (SIGCHLD, SIGINT) could otherwise land on a worker mid-sgemm. Read from
// /proc: after setNumThreads(3) and one parallel kernel, every new thread blocks SIGCHLD.
const WORKERS = `
const fs = require('fs');
const addon = require(${JSON.stringify(NATIVE_ADDON_PATH)});
const tasks = () => fs.readdirSync('/proc/self/task');
const blocksChld = (t) => {
  const m = /SigBlk:\\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/task/' + t + '/status', 'utf8'));
  return m !== null && ((BigInt('0x' + m[1]) >> 16n) & 1n) === 1n; // bit SIGCHLD - 1
};
const before = new Set(tasks());
addon.setNumThreads(3);
addon.unary(0, new Float32Array(1 << 16), new Float32Array(1 << 16));
const fresh = tasks().filter((t) => !before.has(t));
console.log(JSON.stringify({ fresh: fresh.length, blocking: fresh.filter(blocksChld).length }));
`;

test('OpenMP worker threads block asynchronous signals', { skip: skip || (process.platform !== 'linux' && 'needs /proc') }, () => {
  const r = spawnSync(process.execPath, ['-e', WORKERS], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { fresh, blocking } = JSON.parse(r.stdout) as { fresh: number; blocking: number };
  assert.ok(fresh >= 2, `expected OpenMP to start 2 worker threads, saw ${fresh} new threads`);
  assert.equal(blocking, fresh, `${fresh - blocking} of ${fresh} new threads can take SIGCHLD`);
});
