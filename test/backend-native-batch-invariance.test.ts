// What the prediction memo (ml/attacks/prediction-memo.ts) rests on: on the native backend an
// image's eval-mode logits are the same bits whatever batch it is forwarded in. Checked on every
// demo architecture at the demo's widths, at one and two kernel threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';

const skip = loadNativeAddon() === undefined ? 'native backend absent (npm run build:native)' : false;
if (skip) console.log(`# skipped: ${skip}`);

const script = fileURLToPath(new URL('./helpers/batch-invariance.ts', import.meta.url));

for (const threads of ['1', '2']) {
  test(`native, ${threads} thread(s): logits of an image do not depend on its batch (every demo architecture)`, { skip }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      env: { ...process.env, RF_THREADS: threads, RF_BACKEND: 'native' },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 6, r.stdout);
    for (const line of lines) assert.match(line, / 0 of \d+ logits differ$/, line);
  });
}
