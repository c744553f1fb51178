// A run that will compute on wasm or cpu says so first, with the measured slowdown and the fix;
// plans are made for the backend that will actually run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MEASURED_SLOWDOWN, plannedBackend, slowBackendWarning } from '../ml/backend/planned.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the warning names the backend, the measured slowdown and the fix; none on native', () => {
  const w = slowBackendWarning('auto', 'wasm')!;
  assert.match(w, new RegExp(`^WARNING: nodes will compute on the 'wasm' backend, about ${MEASURED_SLOWDOWN.wasm}x slower than native`));
  assert.match(w, /fix: `npm run setup`/);
  assert.match(slowBackendWarning('cpu', 'cpu')!, /asked for 'cpu'[\s\S]*--backend native/);
  assert.equal(slowBackendWarning('auto', 'native'), undefined);
  assert.equal(plannedBackend('wasm'), 'wasm');
});

test('repro starts with the warning when the native backend is unavailable, and not when it is', () => {
  const dry = (env: Record<string, string>) =>
    execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), 'pipeline.ts', 'repro', 'synthetic-dataset', '--dry-run'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env },
    });
  const out = dry({ RF_NO_NATIVE: '1' });
  assert.match(out.split('\n')[0]!, /^WARNING: nodes will compute on the 'wasm' backend/);
  assert.match(out, /why: the native oneDNN backend is not available: disabled by RF_NO_NATIVE=1/);
  if (loadNativeAddon() === undefined) {
    process.stdout.write('# native addon not built here: only the fallback case is checked\n');
    return;
  }
  assert.doesNotMatch(dry({}), /WARNING/);
});
