// `npm run setup` (native/setup.ts): on a machine that has everything it installs and changes
// nothing; where something is missing it installs only that, with apt-get as root or `sudo -n`,
// never removing or upgrading anything, and says what to run where it cannot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { execaRunner, setup, type Runner } from '../native/setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADDON = join(ROOT, 'native', 'build', 'robustfeat_native.node');
const DNNL = '/usr/include/oneapi/dnnl/dnnl.hpp';

/** A folder of fake programs that log their arguments to `log` and exit with `code`. */
function fakeBin(names: string[], code: number): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rf-fakebin-'));
  const log = join(dir, 'calls.log');
  for (const n of names) {
    const f = join(dir, n);
    writeFileSync(f, `#!/bin/sh\necho "${n} $*" >> '${log}'\nexit ${code}\n`);
    chmodSync(f, 0o755);
  }
  return { dir, log };
}

const presentReason = !existsSync(DNNL) ? `oneDNN headers (${DNNL}) are not installed` : !existsSync(ADDON) ? `${ADDON} is not built` : undefined;
if (presentReason) process.stdout.write(`# skip "already present": ${presentReason}\n`);

test('where the native backend is already present, the set-up step installs nothing and changes nothing', { skip: presentReason }, async () => {
  const fake = fakeBin(['apt-get', 'sudo', 'apt'], 1);
  try {
    const before = { hash: createHash('sha256').update(readFileSync(ADDON)).digest('hex'), mtime: statSync(ADDON).mtimeMs };
    const r = await execa(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'native', 'setup.ts')], {
      cwd: ROOT,
      reject: false,
      all: true,
      env: { PATH: `${fake.dir}:${process.env.PATH}` },
    });
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? '', /nothing to install/);
    assert.match(r.all ?? '', /native backend up to date/);
    assert.equal(existsSync(fake.log), false, `apt-get or sudo was called: ${existsSync(fake.log) ? readFileSync(fake.log, 'utf8') : ''}`);
    const after = { hash: createHash('sha256').update(readFileSync(ADDON)).digest('hex'), mtime: statSync(ADDON).mtimeMs };
    assert.deepEqual(after, before, 'the built addon is untouched');
  } finally {
    rmSync(fake.dir, { recursive: true, force: true });
  }
});

/** A scripted machine: which programs succeed, and headers that appear once apt-get installs them. */
function machine(o: { root: boolean; sudo: boolean; apt?: boolean; installFails?: boolean }) {
  const calls: string[][] = [];
  let dnnl = false;
  const run: Runner = async (file, args) => {
    calls.push([file, ...args]);
    const cmd = file === 'sudo' && args[0] === '-n' ? args.slice(1) : [file, ...args];
    if (file === 'sudo' && args.join(' ') === '-n true') return { exitCode: o.sudo ? 0 : 1, output: '' };
    if (cmd[0] === 'apt-get') {
      if (o.apt === false) return { exitCode: 127, output: 'not found' };
      if (cmd[1] === 'install') {
        if (o.installFails) return { exitCode: 100, output: 'E: Unable to locate package libdnnl-dev' };
        dnnl = true;
      }
      return { exitCode: 0, output: '' };
    }
    if (file === 'g++') return { exitCode: 0, output: 'g++ 12' };
    if (file === process.execPath) return { exitCode: 0, output: 'native backend built' };
    return { exitCode: 127, output: `${file}: not found` };
  };
  const exists = (p: string) => (p.endsWith('dnnl.hpp') ? dnnl : p.endsWith('node_api.h'));
  const lines: string[] = [];
  return { calls, lines, opts: { run, exists, isRoot: o.root, log: (l: string) => lines.push(l) } };
}

const mutating = (calls: string[][]) => calls.filter((c) => c.some((a) => /^(remove|purge|autoremove|upgrade|dist-upgrade|full-upgrade)$/.test(a)));

test('missing oneDNN as root: apt-get update, then install exactly the missing package, without upgrades; then build', async () => {
  const m = machine({ root: true, sudo: false });
  const r = await setup(m.opts);
  assert.equal(r.ok, true, m.lines.join('\n'));
  assert.deepEqual(r.missing, ['libdnnl-dev']);
  const apt = m.calls.filter((c) => c[0] === 'apt-get' && c[1] !== '--version');
  assert.deepEqual(apt, [
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', '--no-install-recommends', '--no-upgrade', 'libdnnl-dev'],
  ]);
  assert.deepEqual(mutating(m.calls), []);
  assert.ok(
    m.calls.some((c) => c[0] === process.execPath && c[1]!.endsWith('build.mjs') && c[2] === '--strict'),
    'then builds native/',
  );
});

test('missing oneDNN, not root: sudo -n when it needs no password, else the exact command to run', async () => {
  const s = machine({ root: false, sudo: true });
  assert.equal((await setup(s.opts)).ok, true);
  assert.ok(
    s.calls.some((c) => c.join(' ') === 'sudo -n apt-get install -y --no-install-recommends --no-upgrade libdnnl-dev'),
    JSON.stringify(s.calls),
  );
  const n = machine({ root: false, sudo: false });
  const r = await setup(n.opts);
  assert.equal(r.ok, false);
  assert.equal(n.calls.filter((c) => c.includes('install')).length, 0, 'nothing installed without rights');
  assert.match(n.lines.join('\n'), /sudo apt-get update && sudo apt-get install -y --no-install-recommends --no-upgrade libdnnl-dev/);
});

test('no apt-get, or a failing install: a clear message, no build', async () => {
  const a = machine({ root: true, sudo: false, apt: false });
  assert.equal((await setup(a.opts)).ok, false);
  assert.match(a.lines.join('\n'), /no apt-get here; install libdnnl-dev/);
  const f = machine({ root: true, sudo: false, installFails: true });
  const r = await setup(f.opts);
  assert.equal(r.ok, false);
  assert.equal(r.built, false);
  assert.match(f.lines.join('\n'), /failed \(exit 100\):\nE: Unable to locate package libdnnl-dev/);
});

test('through execa with a fake apt-get and compiler on PATH: the missing compiler is asked for with an argument array, and still missing is reported', async () => {
  const fake = fakeBin(['apt-get', 'sudo'], 0);
  const cc = join(fake.dir, 'broken-cxx');
  writeFileSync(cc, '#!/bin/sh\nexit 1\n');
  chmodSync(cc, 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${fake.dir}:${saved}`;
  try {
    const lines: string[] = [];
    const r = await setup({ run: execaRunner, exists: (p) => p.endsWith('.h') || p.endsWith('.hpp'), isRoot: true, log: (l) => lines.push(l), cxx: cc });
    assert.equal(r.ok, false);
    assert.deepEqual(r.missing, ['g++']);
    const log = readFileSync(fake.log, 'utf8').trim().split('\n');
    assert.deepEqual(log, ['apt-get --version', 'apt-get update', 'apt-get install -y --no-install-recommends --no-upgrade g++']);
    assert.match(lines.join('\n'), /still missing after the install: g\+\+/);
  } finally {
    process.env.PATH = saved;
    rmSync(fake.dir, { recursive: true, force: true });
  }
});
