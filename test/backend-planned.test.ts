// A run that will compute on wasm or cpu says so first, with the measured slowdown and the fix;
// plans are made for the backend that will actually run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEASURED_SLOWDOWN, plannedBackend, slowBackendWarning } from '../ml/backend/planned.ts';
import { nativeSkip } from './helpers/services.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the warning names the backend, the measured slowdown and the fix; none on native', () => {
  const w = slowBackendWarning('auto', 'wasm')!;
  assert.match(w, new RegExp(`^WARNING: nodes will compute on the 'wasm' backend, about ${MEASURED_SLOWDOWN.wasm}x slower than native`));
  assert.match(w, /fix: `npm run setup`/);
  assert.match(slowBackendWarning('cpu', 'cpu')!, /asked for 'cpu'[\s\S]*--backend native/);
  assert.equal(slowBackendWarning('auto', 'native'), undefined);
  assert.equal(plannedBackend('wasm'), 'wasm');
});

test('repro starts with the warning when the native backend is unavailable, and not when it is; plans scale with the backend', () => {
  const root = mkdtempSync(join(tmpdir(), 'rf-planned-'));
  copyFileSync(join(ROOT, 'params.yaml'), join(root, 'params.yaml'));
  const target = 'train@q2-resnet18-alpha0';
  const dry = (env: Record<string, string>) =>
    execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'pipeline.ts'), '--root', root, 'repro', target, '--dry-run'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  // "~42s", "~3m05s", "~1h02m" (engine/cli/reporter.ts fmtDuration), in seconds.
  const estimate = (out: string) => {
    const t = new RegExp(`to run +${target} +\\(~([0-9hms.]+),`).exec(out)?.[1] ?? '';
    return Number(/(\d+)h/.exec(t)?.[1] ?? 0) * 3600 + Number(/(\d+)m(?!s)/.exec(t)?.[1] ?? 0) * 60 + Number(/([\d.]+)s/.exec(t)?.[1] ?? 0);
  };
  try {
    const out = dry({ RF_NO_NATIVE: '1' });
    assert.match(out.split('\n')[0]!, /^WARNING: nodes will compute on the 'wasm' backend/);
    assert.match(out, /why: the native oneDNN backend is not available: disabled by RF_NO_NATIVE=1/);
    const onCpu = dry({ RF_BACKEND: 'cpu' });
    assert.match(onCpu, /asked for 'cpu'/);
    if (nativeSkip()) {
      process.stdout.write('# native addon not built here: only the fallback case is checked\n');
      return;
    }
    const native = dry({});
    assert.doesNotMatch(native, /WARNING/);
    assert.ok(estimate(out) > 2 * estimate(native), `wasm plan ${estimate(out)} s vs native ${estimate(native)} s`);
    assert.ok(estimate(onCpu) > estimate(out), 'cpu is planned slower than wasm');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
