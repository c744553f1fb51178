import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { MissingServiceError, SERVICES, requiredServices, serviceSkip } from './helpers/services.ts';

/**
 * A green CI must mean the tests that need real services ran: under CI a missing service fails
 * the suite, naming it; elsewhere those tests skip and say why.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('outside CI a missing service skips with its reason; under CI it fails naming the service', () => {
  assert.equal(serviceSkip('slurm', undefined, { CI: 'true' }), false, 'a present service never skips');
  assert.equal(serviceSkip('slurm', 'sinfo unavailable', {}), 'sinfo unavailable');
  assert.throws(
    () => serviceSkip('slurm', 'sinfo unavailable', { CI: 'true' }),
    (e: unknown) => e instanceof MissingServiceError && /'slurm'.*sinfo unavailable/.test(e.message),
  );
  // An explicit list wins over CI's default of every service.
  assert.equal(serviceSkip('slurm', 'sinfo unavailable', { CI: 'true', RF_REQUIRED_SERVICES: 'native chromium' }), 'sinfo unavailable');
  assert.throws(() => serviceSkip('chromium', 'none', { RF_REQUIRED_SERVICES: 'native,chromium' }), MissingServiceError);
  assert.deepEqual([...requiredServices({ CI: 'true' })].sort(), [...SERVICES].sort());
});

test('.ci/run requires every service the suite knows, and fails where one cannot be installed or started', () => {
  const script = readFileSync(`${ROOT}/.ci/run`, 'utf8');
  const declared = /RF_REQUIRED_SERVICES="([^"]*)"/.exec(script)?.[1]?.split(/\s+/) ?? [];
  assert.deepEqual([...declared].sort(), [...SERVICES].sort());
  assert.doesNotMatch(script, /\|\|\s*echo/, 'no install or start may be swallowed by `|| echo`');
});

test('a test file whose service is missing fails the run under CI, and skips saying why elsewhere', () => {
  // Slurm made unreachable: a PATH holding node alone, so `sinfo` cannot be found.
  const bin = mkdtempSync(join(tmpdir(), 'rf-path-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  // Without NODE_TEST_CONTEXT: the child is a test run of its own, not a subprocess of this one.
  const { NODE_TEST_CONTEXT: _, ...parent } = process.env;
  const env = { ...parent, PATH: bin };
  const run = (extra: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/slurm-pipeline.test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...env, ...extra },
      timeout: 120_000,
    });
  const required = run({ RF_REQUIRED_SERVICES: 'slurm' });
  assert.notEqual(required.status, 0, required.stdout);
  assert.match(required.stdout + required.stderr, /service 'slurm' is required/);
  const optional = run({ RF_REQUIRED_SERVICES: '' });
  assert.equal(optional.status, 0, optional.stdout + optional.stderr);
  assert.match(optional.stdout, /skipping tests that need slurm: sinfo unavailable/);
  assert.match(optional.stdout, /# fail 0/);
});
