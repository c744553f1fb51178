// `repro … | head`: the reader goes away while the CLI still writes. It must end quietly (exit 0,
// no EPIPE stack trace), the way Unix tools do, not with an unhandled 'error' event.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rf-pipe-'));
after(() => rmSync(dir, { recursive: true, force: true }));
copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));

test('a dry run piped into `head -1` exits 0 without an EPIPE trace', () => {
  const cli = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(ROOT, 'pipeline.ts'))} --root ${JSON.stringify(dir)}`;
  // The whole graph's plan is thousands of lines: head has long exited before the CLI is done.
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${cli} repro all --dry-run | head -1`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, RF_OFFLINE: '1' },
  });
  assert.match(r.stdout, /^dry run: \d+ nodes needed by all\n$/);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error'/, r.stderr);
  assert.equal(r.status, 0, r.stderr);
});
