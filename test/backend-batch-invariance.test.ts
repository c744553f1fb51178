// What the prediction memo (ml/attacks/prediction-memo.ts) rests on: on each backend it trusts
// (cpu, wasm, and native where oneDNN runs AVX-512 kernels) an image's eval-mode logits are the
// same bits whatever batch it is forwarded in. Measured on every demo architecture at the demo's
// widths: native at one and two kernel threads, cpu and wasm at their one (tfjs runs the
// single-threaded wasm build under Node). Where the memo does not trust a backend (native on an
// AVX2-only CPU) the figures are printed, and only a trusted backend must show no difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { memoSafeBackend } from '../ml/attacks/prediction-memo.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';

const noNative = loadNativeAddon() === undefined ? 'native backend absent (npm run build:native)' : false;
if (noNative) console.log(`# skipped: ${noNative}`);

const { probeWebgpuAdapter } = await import('../ml/backend/webgpu.ts');
const webgpuProbe = await probeWebgpuAdapter();
const noWebgpu = webgpuProbe.adapter === undefined ? `no WebGPU adapter: ${webgpuProbe.reason ?? '?'}` : false;
if (noWebgpu) console.log(`# skipped (webgpu): ${noWebgpu}`);

const script = fileURLToPath(new URL('./helpers/batch-invariance.ts', import.meta.url));

const cases: Array<{ backend: string; threads: string; skip: string | false }> = [
  { backend: 'native', threads: '1', skip: noNative },
  { backend: 'native', threads: '2', skip: noNative },
  { backend: 'cpu', threads: '1', skip: false },
  { backend: 'wasm', threads: '1', skip: false },
  // The memo does not trust webgpu: its figures are printed (docs/gpu.md has those measured on llvmpipe).
  { backend: 'webgpu', threads: '1', skip: noWebgpu },
];

for (const { backend, threads, skip } of cases) {
  test(`${backend}, ${threads} thread(s): the memo trusts it only if an image's logits do not depend on its batch (every demo architecture)`, { skip }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      env: { ...process.env, RF_THREADS: threads, RF_BACKEND: backend },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 7, r.stdout);
    assert.equal(lines[0], `backend ${backend}`);
    if (!memoSafeBackend(backend)) {
      console.log(`# the memo does not trust ${backend} on this CPU; measured: ${lines.slice(1).join('; ')}`);
      return;
    }
    for (const line of lines.slice(1)) assert.match(line, / 0 of \d+ logits differ$/, line);
  });
}
