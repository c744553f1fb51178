// What the prediction memo (ml/attacks/prediction-memo.ts) rests on: on each backend it trusts
// (native, cpu, wasm) an image's eval-mode logits are the same bits whatever batch it is forwarded
// in. Checked on every demo architecture at the demo's widths: native at one and two kernel
// threads, cpu and wasm at their one (tfjs runs the single-threaded wasm build under Node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, nativeRunsAvx512 } from '../ml/backend/native/addon.ts';

// The memo trusts native only where oneDNN runs AVX-512 kernels; elsewhere there is no claim to check.
const noNative =
  loadNativeAddon() === undefined
    ? 'native backend absent (npm run build:native)'
    : !nativeRunsAvx512()
      ? 'oneDNN runs no AVX-512 kernels on this CPU, where its logits depend on the batch, so the memo does not trust native here'
      : false;
if (noNative) console.log(`# skipped: ${noNative}`);

const script = fileURLToPath(new URL('./helpers/batch-invariance.ts', import.meta.url));

const cases: Array<{ backend: string; threads: string; skip: string | false }> = [
  { backend: 'native', threads: '1', skip: noNative },
  { backend: 'native', threads: '2', skip: noNative },
  { backend: 'cpu', threads: '1', skip: false },
  { backend: 'wasm', threads: '1', skip: false },
];

for (const { backend, threads, skip } of cases) {
  test(`${backend}, ${threads} thread(s): logits of an image do not depend on its batch (every demo architecture)`, { skip }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      env: { ...process.env, RF_THREADS: threads, RF_BACKEND: backend },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 7, r.stdout);
    assert.equal(lines[0], `backend ${backend}`);
    for (const line of lines.slice(1)) assert.match(line, / 0 of \d+ logits differ$/, line);
  });
}
