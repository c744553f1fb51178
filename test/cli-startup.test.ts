/**
 * What the compiled pipeline CLI loads for a command that computes nothing (`repro --dry-run`):
 * not tfjs (only nodes need it) and none of the packages that only some stages use (vega and
 * vega-lite for figures, marked for the HTML page, tar for downloads). Together they were about
 * 0.6 s of every `status`, `show` and no-op `repro` on this machine. Nor the `bindings` package:
 * better-sqlite3 is given its addon's path (engine/state/db.ts), where bindings' search cost about 35 ms.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { buildEntry } from '../engine/fast-start/bundle.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Inside the checkout, so the bundle's packages resolve from its node_modules.
const dir = join(ROOT, 'dist', `startup-test-${process.pid}`);
mkdirSync(dir, { recursive: true });
after(() => rmSync(dir, { recursive: true, force: true }));

/** Records every ES module the process resolves and, at exit, every CommonJS module it loaded. */
function recorders(log: string): { esm: string; cjs: string } {
  const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, 'esm ' + r.url + '\\n');
  return r;
}`;
  const esm = join(dir, 'record-esm.mjs');
  writeFileSync(esm, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`);
  const cjs = join(dir, 'record-cjs.cjs');
  writeFileSync(
    cjs,
    `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(log)}, Object.keys(require.cache).map((f) => 'cjs ' + f + '\\n').join('')));\n`,
  );
  return { esm, cjs };
}

test(
  'a dry run of the compiled CLI loads neither tfjs, Dawn (webgpu) nor the figure, page, download and addon-search packages',
  { timeout: 120_000 },
  async () => {
    await buildEntry(join(ROOT, 'experiments', 'cli.ts'), join(dir, 'out'), 'pipeline', ROOT);
    const root = join(dir, 'root');
    mkdirSync(root, { recursive: true });
    copyFileSync(join(ROOT, 'params.yaml'), join(root, 'params.yaml'));
    const log = join(dir, 'loaded.txt');
    const { esm, cjs } = recorders(log);
    const r = spawnSync(process.execPath, ['--import', esm, '-r', cjs, join(dir, 'out', 'pipeline.mjs'), '--root', root, 'repro', 'table1', '--dry-run'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /dry run \(demo\): 0 cached, \d+ to run/);
    const loaded = readFileSync(log, 'utf8').trim().split('\n');
    // The recorders work: they saw the launcher (an ES module) and better-sqlite3 (CommonJS, which the driver needs).
    assert.ok(
      loaded.some((l) => l.startsWith('esm ') && l.endsWith('/pipeline.mjs')),
      'the ES recorder saw the launcher',
    );
    assert.ok(
      loaded.some((l) => l.startsWith('cjs ') && l.includes('/node_modules/better-sqlite3/')),
      'the CommonJS recorder saw better-sqlite3',
    );
    assert.ok(
      loaded.some((l) => l.startsWith('cjs ') && l.endsWith('/better_sqlite3.node')),
      'the SQLite addon was loaded',
    );
    const unwanted = loaded.filter((l) => /\/node_modules\/(@tensorflow|webgpu|vega|vega-lite|marked|tar|bindings|file-uri-to-path)\//.test(l));
    assert.deepEqual(unwanted, []);
  },
);
