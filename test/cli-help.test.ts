/**
 * Help texts through the real CLI: every verb that takes targets names them, with the profiles and
 * the default one, read from the --root's params.yaml; no "(default: [])" noise; 100 columns.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rf-cli-help-'));
copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));
after(() => rmSync(dir, { recursive: true, force: true }));

function help(root: string, args: readonly string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline.ts'), '--root', root, ...args, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')} --help: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

test('repro, status, dag and the top-level help list the targets, the profiles and the default', () => {
  for (const verb of [['repro'], ['status'], ['dag'], []]) {
    const text = help(dir, verb);
    assert.match(text, /Targets of profile demo: [^\n]*\btable1\b[^\n]*\ball\b/, text);
    assert.match(text, /Profiles \(--profile\): [^\n]*\bdemo \(default\)/, text);
    assert.match(text, /\bcpu\b/);
    assert.doesNotMatch(text, /default: \[\]/, text);
    const wide = text.split('\n').filter((l) => l.length > 100);
    assert.deepEqual(wide, [], `${verb.join(' ')} --help: lines over 100 columns`);
  }
});

test('the help names the targets of the profile asked for', () => {
  assert.match(help(dir, ['--profile', 'cpu', 'repro']), /Targets of profile cpu: /);
});

test('a params.yaml that does not load still gives the help, saying why the targets are missing', () => {
  const broken = mkdtempSync(join(tmpdir(), 'rf-cli-help-broken-'));
  try {
    writeFileSync(join(broken, 'params.yaml'), 'profiles: [\n');
    const text = help(broken, ['repro']);
    assert.match(text, /Usage: pipeline\.ts repro/);
    assert.match(text, /Targets and profiles: .*params\.yaml did not load \(/);
  } finally {
    rmSync(broken, { recursive: true, force: true });
  }
});

test("a dry run of the demo's whole graph on a fresh root fits 100 columns: long ids, reasons and the summary fold", () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline.ts'), '--root', dir, 'repro', 'all', '--dry-run'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  const lines = r.stdout.split('\n');
  assert.ok(
    lines.some((l) => l.startsWith('  to run    evaluate@q3-')),
    r.stdout.slice(0, 2000),
  );
  assert.ok(
    lines.some((l) => l.startsWith('dry run (demo): 0 cached, ')),
    r.stdout.slice(-500),
  );
  assert.deepEqual(
    lines.filter((l) => l.length > 100),
    [],
  );
});
