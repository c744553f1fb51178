import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { after, test } from 'node:test';
import { buildEntry, lazyBuiltin } from '../engine/fast-start/bundle.ts';
import { cachePath, writeCache } from '../engine/fast-start/launcher.ts';

/**
 * The compiled CLI (engine/fast-start/bundle.ts) runs a CommonJS bundle through engine/fast-start/launcher.ts with V8's
 * code cache. A cache must never run code other than the bundle's: not after a rebuild (even one
 * of the same length, which V8 alone would accept), not when corrupt, not when V8 refuses it.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Inside the checkout, so the entry's imports of packages resolve from its node_modules.
const dir = join(ROOT, 'dist', `bundle-test-${process.pid}`);
mkdirSync(dir, { recursive: true });
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = join(dir, 'entry.ts');
const bundle = join(dir, 'out', 'probe.bundle.cjs');
const launcher = join(dir, 'out', 'probe.mjs');

/** An entry that exercises what the bundle must keep from ES modules: import.meta, a static external, import(). */
const source = (version: string) => `import { PNG } from 'pngjs';
import { sep } from 'node:path';
const spec = ['node', 'os'].join(':');
const os = null;
void (async () => {
  const dynamic = await import(spec);
  const path = await import('node:path');
  process.stdout.write(JSON.stringify({ version: '${version}', png: typeof PNG, url: import.meta.url, dyn: typeof dynamic.cpus, sep: path.sep === sep, os }) + '\\n');
})();
`;

interface Out {
  version: string;
  png: string;
  url: string;
  dyn: string;
  sep: boolean;
  os: null;
}

function run(env: Record<string, string> = {}): { out: Out; state: string } {
  const r = spawnSync(process.execPath, [launcher], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RF_CODE_CACHE_DEBUG: '1', ...env } });
  assert.equal(r.status, 0, r.stderr);
  const state = /code cache: (\S+)/.exec(r.stderr)?.[1] ?? `none (stderr: ${r.stderr})`;
  return { out: JSON.parse(r.stdout.trim()) as Out, state };
}

async function build(version: string): Promise<void> {
  writeFileSync(entry, source(version));
  await buildEntry(entry, join(dir, 'out'), 'probe', ROOT);
}

test('the compiled entry keeps ES semantics: import.meta.url of the source, static externals, import()', async () => {
  await build('v1');
  const first = run();
  assert.deepEqual(first.out, { version: 'v1', png: 'function', url: `file://${entry}`, dyn: 'function', sep: true, os: null });
  assert.equal(first.state, 'absent');
  assert.ok(existsSync(cachePath(bundle)), 'the first run writes the code cache');
  const second = run();
  assert.equal(second.state, 'hit');
  assert.deepEqual(second.out, first.out);
});

test('a cache from another build of the same length is not used: the new code runs', async () => {
  await build('v1');
  run();
  const old = `${cachePath(bundle)}.old`;
  copyFileSync(cachePath(bundle), old);
  const before = readFileSync(bundle, 'utf8');
  await build('v2');
  assert.equal(readFileSync(bundle, 'utf8').length, before.length, 'the two bundles differ only in content, not in length');
  assert.ok(!existsSync(cachePath(bundle)), 'a rebuild drops the old cache');
  // As if the old cache had survived (a copied dist/, a build that crashed between its writes).
  copyFileSync(old, cachePath(bundle));
  const r = run();
  assert.equal(r.state, 'other-bundle');
  assert.equal(r.out.version, 'v2');
  assert.equal(run().state, 'hit', 'the refused cache was replaced by one of this bundle');
  assert.equal(run().out.version, 'v2');
});

test('V8 alone would run the stale code: the digest check is what prevents it', () => {
  // The reason for the header: same length, other content, and V8 accepts the cached data.
  const a = '(function () { return "v1"; })';
  const b = '(function () { return "v2"; })';
  const data = new vm.Script(a, { filename: '/x.js' });
  (data.runInThisContext() as () => string)();
  const cached = data.createCachedData();
  const s = new vm.Script(b, { filename: '/x.js', cachedData: cached });
  if (s.cachedDataRejected) {
    // Some V8 versions also check the content: then only our own check matters, and it is tested above.
    return;
  }
  assert.equal((s.runInThisContext() as () => string)(), 'v1', 'V8 ran the cached (stale) code');
});

test('a corrupt cache is ignored and rewritten; one V8 rejects is too; RF_CODE_CACHE=0 runs without', async () => {
  await build('v3');
  run();
  const file = cachePath(bundle);
  const raw = readFileSync(file);
  raw.writeUInt8(raw.readUInt8(raw.length - 100) ^ 0xff, raw.length - 100);
  writeFileSync(file, raw);
  let r = run();
  assert.equal(r.state, 'corrupt');
  assert.equal(r.out.version, 'v3');
  assert.equal(run().state, 'hit');

  writeFileSync(file, 'rfcc1\ntruncated');
  assert.equal(run().state, 'corrupt');

  // A well-formed header for this bundle around data V8 made for another script: V8 refuses it.
  const digest = (await import('node:crypto')).createHash('sha256').update(readFileSync(bundle, 'utf8')).digest('hex');
  const other = new vm.Script('(function () { return 42; })', { filename: bundle });
  writeCache(file, digest, other.createCachedData());
  r = run();
  assert.equal(r.state, 'rejected');
  assert.equal(r.out.version, 'v3');
  assert.equal(run().state, 'hit');

  rmSync(file);
  assert.equal(run({ RF_CODE_CACHE: '0' }).state, 'disabled');
  assert.ok(!existsSync(file), 'RF_CODE_CACHE=0 writes no cache');
});

test('an entry with top-level await is refused at build time, saying why', async () => {
  writeFileSync(entry, 'await Promise.resolve();\n');
  await assert.rejects(buildEntry(entry, join(dir, 'out'), 'tla', ROOT), /call main\(\) without await/);
});

test('a source edited after the build runs the entry from source instead', async () => {
  await build('v4');
  writeFileSync(entry, source('v5'));
  const future = new Date(Date.now() + 5000);
  utimesSync(entry, future, future);
  const r = spawnSync(process.execPath, [launcher], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /entry\.ts changed since the compiled CLI was built/);
  assert.equal((JSON.parse(r.stdout.trim()) as { version: string }).version, 'v5');
});

test('a source whose mtime moved but whose bytes did not (a copy without -a, a checkout) keeps the bundle fresh', async () => {
  await build('v6');
  const future = new Date(Date.now() + 5000);
  utimesSync(entry, future, future);
  const r = spawnSync(process.execPath, [launcher], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RF_CODE_CACHE_DEBUG: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /changed since/);
  assert.match(r.stderr, /code cache: /, 'the bundle ran');
});

test("commander's child_process is loaded only when used: a start that forks nothing does not pay for it", async () => {
  writeFileSync(
    entry,
    `import { Command } from 'commander';
const loaded = () => process.moduleLoadList.includes('NativeModule child_process');
const program = new Command('probe').option('--verbose');
program.parse(process.argv);
const before = loaded();
void (async () => {
  const cp = await import('node:child_process');
  process.stdout.write(JSON.stringify({ verbose: program.opts().verbose === true, before, after: loaded(), spawnSync: typeof cp.spawnSync }) + '\\n');
})();
`,
  );
  await buildEntry(entry, join(dir, 'out'), 'probe', ROOT);
  const r = spawnSync(process.execPath, [launcher, '--verbose'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // `after` shows that the check sees the module once something does load it.
  assert.deepEqual(JSON.parse(r.stdout.trim()), { verbose: true, before: false, after: true, spawnSync: 'function' });
});

test('a lazy builtin stands for the real module: same properties, loaded on first access', () => {
  const loads: string[] = [];
  const module = { exports: {} as Record<string, unknown> };
  const fakeRequire = (name: string) => {
    loads.push(name);
    return { spawn: 'the real spawn', fork: 'the real fork' };
  };
  new vm.Script(`(function (module, require) {${lazyBuiltin('node:child_process')}\n})`).runInThisContext()(module, fakeRequire);
  assert.deepEqual(loads, [], 'nothing is required before a property is read');
  const cp = module.exports;
  assert.equal(cp.spawn, 'the real spawn');
  assert.equal('fork' in cp, true);
  assert.deepEqual(Object.keys(cp).sort(), ['fork', 'spawn']);
  assert.deepEqual(loads, ['node:child_process'], 'required once');
});

test('a TypeScript entry runs its fresh build in-process, and its sources when there is none, it is stale or RF_COMPILED_CLI=0', async () => {
  const front = join(dir, 'front.ts');
  const specFile = join(dir, 'out', 'probe.launch.json');
  writeFileSync(
    front,
    `import { runCompiledIfFresh } from ${JSON.stringify(join(ROOT, 'engine', 'fast-start', 'launcher.ts'))};
if (!(await runCompiledIfFresh(${JSON.stringify(specFile)}, (s) => import(s), import.meta.resolve))) process.stdout.write(JSON.stringify({ version: 'source' }) + '\\n');
`,
  );
  const viaTsx = (env: Record<string, string> = {}): string => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', front], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing is printed about which one ran');
    return (JSON.parse(r.stdout.trim()) as { version: string }).version;
  };
  rmSync(specFile, { force: true });
  await build('h1');
  assert.equal(viaTsx(), 'source', 'no launch spec: the sources');
  const buildWithSpec = async (version: string) => {
    writeFileSync(entry, source(version));
    writeFileSync(specFile, JSON.stringify(await buildEntry(entry, join(dir, 'out'), 'probe', ROOT)));
  };
  await buildWithSpec('h1');
  assert.equal(viaTsx(), 'h1', 'a fresh build runs');
  assert.equal(viaTsx({ RF_COMPILED_CLI: '0' }), 'source');
  rmSync(bundle);
  assert.equal(viaTsx(), 'source', 'the spec without its bundle: the sources');
  await buildWithSpec('h1');
  assert.equal(viaTsx(), 'h1');
  writeFileSync(entry, source('h2-edited'));
  assert.equal(viaTsx(), 'source', 'a source edited after the build: the sources');
});
