import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** CI: where oneDNN is installed, a failed native build fails CI (it used to exit 0 and the native tests skipped). */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const hasDnnl = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].some((f) => existsSync(f));

test('.ci/run builds the native backend through .ci/native-build', () => {
  const ci = readFileSync(`${ROOT}.ci/run`, 'utf8');
  assert.match(ci, /^bash \.ci\/native-build$/m);
  assert.doesNotMatch(ci, /build:native \|\|/);
});

test(
  '.ci/native-build fails when the compiler fails and oneDNN is installed',
  { skip: hasDnnl ? false : 'oneDNN headers not installed: only the lenient path applies' },
  () => {
    // A compiler that answers --version but fails every compilation; --force so the existing build is
    // not taken as up to date (the build goes to a temporary file first, so it stays intact).
    const dir = mkdtempSync(join(tmpdir(), 'rf-cxx-'));
    try {
      const cxx = join(dir, 'broken-c++');
      writeFileSync(cxx, '#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "error: deliberate" >&2\nexit 1\n');
      chmodSync(cxx, 0o755);
      const r = spawnSync('bash', ['.ci/native-build', '--force'], { cwd: ROOT, env: { ...process.env, CXX: cxx }, encoding: 'utf8' });
      assert.notEqual(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /native backend not built: compiler exited with status 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('.ci/native-build without oneDNN says why and succeeds', { skip: hasDnnl ? 'oneDNN is installed here: the strict path applies' : false }, () => {
  const r = spawnSync('bash', ['.ci/native-build'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /native backend not built/);
});
