// What the prediction memo (ml/attacks/prediction-memo.ts) rests on: on each backend it trusts
// (cpu, wasm, native) an image's eval-mode logits are the same bits whatever batch it is
// forwarded in. Measured on every demo architecture at the demo's widths: native at one and two
// kernel threads, with the kernels of this CPU and capped to AVX2 (ONEDNN_MAX_CPU_ISA), so that
// an AVX-512 machine checks the AVX2 kernels too; cpu and wasm at their one thread (tfjs runs
// the single-threaded wasm build under Node). Every case must show no difference. (webgpu's
// logits do depend on the batch, so the memo is off there: docs/gpu.md has the figures.) The cpu
// backend, tfjs' plain JavaScript kernels, forwards 10 images instead of 20: the same chunkings
// at half its minute.
import { nativeSkip } from './helpers/services.ts';
import { nativeKernelIsa } from '../ml/backend/native/addon.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { memoSafeBackend } from '../ml/attacks/prediction-memo.ts';

const noNative = nativeSkip();
const script = fileURLToPath(new URL('./helpers/batch-invariance.ts', import.meta.url));

const cases: Array<{ backend: string; threads: string; isa?: string; skip: string | false }> = [
  { backend: 'native', threads: '1', skip: noNative },
  { backend: 'native', threads: '2', skip: noNative },
  { backend: 'native', threads: '1', isa: 'AVX2', skip: noNative },
  { backend: 'native', threads: '2', isa: 'AVX2', skip: noNative },
  { backend: 'cpu', threads: '1', skip: false },
  { backend: 'wasm', threads: '1', skip: false },
];

// Capping an AVX2-only CPU to AVX2 runs the very kernels of the uncapped cases: said, not rerun.
const runsAvx2 = noNative ? false : nativeKernelIsa() === 'avx2' && 'this CPU runs AVX2 kernels already (the uncapped cases)';

for (const { backend, threads, isa, skip } of cases) {
  const capped = isa === undefined ? '' : `, capped to ${isa}`;
  test(
    `${backend}, ${threads} thread(s)${capped}: the memo trusts it, and an image's logits do not depend on its batch (every demo architecture)`,
    { skip: skip || (isa !== undefined && runsAvx2) },
    () => {
      assert.ok(memoSafeBackend(backend));
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        env: {
          ...process.env,
          RF_THREADS: threads,
          RF_BACKEND: backend,
          RF_INVARIANCE_IMAGES: backend === 'cpu' ? '10' : '20',
          ...(isa === undefined ? {} : { ONEDNN_MAX_CPU_ISA: isa }),
        },
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 7, r.stdout);
      // The first line names the backend (and for native the kernels' ISA) that ran.
      const [ran, kernels] = lines[0]!.split(' kernels ');
      assert.equal(ran, `backend ${backend}`);
      if (isa !== undefined) assert.equal(kernels, isa.toLowerCase(), `the cap ran ${kernels} kernels`);
      if (backend === 'native') console.log(`# native ran ${kernels} kernels`);
      for (const line of lines.slice(1)) assert.match(line, / 0 of \d+ logits differ$/, line);
    },
  );
}
