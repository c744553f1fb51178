import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'acorn';
import type { BundleManifest, LaunchSpec } from './launcher.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { WORKER_MODULES, compiledWorkerFiles, type WorkerKind } from './compiled-worker.ts';
import { cachePath, launchSpecPath } from './launcher.ts';

/**
 * A compiled copy of a CLI entry so the driver starts without the TypeScript loader: `status`,
 * `show` and no-op `repro` answer in a fraction of the time. The small pure-JS packages every start
 * loads (BUNDLED) are compiled in too, which saves resolving and loading their hundreds of files;
 * every other package (native addons, tfjs, the figure renderers a stage imports lazily) stays
 * external. Worker processes still run the TypeScript sources, and node keys still hash the sources,
 * so results are identical whichever entry a user runs.
 *
 * The bundle is CommonJS (a function body) so that the launcher can run it through `vm.Script`
 * with V8's code cache (engine/fast-start/launcher.ts): an ES module cannot be given cached data on node 20.
 * What an ES bundle did is kept: every `import.meta.url` is replaced by the URL of the TypeScript
 * file it appears in (stage modules, the worker path and the project module keep pointing at the
 * sources), computed at run time from the file's path relative to the project root, so that a
 * copied or moved checkout points at its own sources; `import.meta.resolve` is replaced by the
 * launcher's (dist/); CommonJS packages imported
 * statically are require()d where first needed (see isCommonJs), ES ones are loaded by the
 * launcher before the bundle runs (as hoisted imports were) and handed in by name; every `import()`
 * left in the bundle (computed specifiers, execa, the wasm backend) calls the launcher's import(),
 * so it resolves from dist/ as before (node 20 loses a vm.Script's import() hook when the script
 * comes from the code cache). An entry must not use top-level await (CommonJS has none): the build
 * fails if it does, as it does for any other `import.meta` left in.
 * The launcher records the size, mtime and digest of every source it holds and refuses to run once any changed.
 */

/** A path relative to the root, with forward slashes (what the bundle and the manifest name files by). */
const rootRelative = (root: string, file: string): string => relative(root, file).split(sep).join('/');

/** Packages compiled into the bundle (with whatever they import); all others stay external. */
const BUNDLED = new Set(['commander', 'zod', 'yaml']);

const packageOf = (spec: string): string =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Whether a package resolves to the same CommonJS file for import and for require (better-sqlite3,
 * tfjs, pngjs): then the bundle may require() it where it is first needed, which is what node's
 * import of it does too, one instance either way. Otherwise (ESM-only or dual packages) it is
 * loaded as an ES module before the bundle runs.
 */
function isCommonJs(spec: string): boolean {
  let viaImport: string;
  let viaRequire: string;
  try {
    viaImport = fileURLToPath(import.meta.resolve(spec));
    viaRequire = createRequire(import.meta.url).resolve(spec);
  } catch {
    return false;
  }
  if (viaImport !== viaRequire) return false;
  const ext = extname(viaImport);
  if (ext === '.cjs' || ext === '.node') return true;
  if (ext !== '.js') return false;
  for (let d = dirname(viaImport); ; d = dirname(d)) {
    const manifest = join(d, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type !== 'module';
    if (dirname(d) === d) return true;
  }
}

/**
 * An ES module standing for a statically imported external: its exports are the namespace the
 * launcher loaded, under the names the package has now (read here, by importing it once).
 */
async function externalModule(spec: string): Promise<string> {
  const ns = (await import(spec)) as Record<string, unknown>;
  const lines = [`const ns = __rfExternals[${JSON.stringify(spec)}];`, 'export default ns.default;'];
  Object.keys(ns)
    .filter((n) => n !== 'default')
    .forEach((n, i) => lines.push(`const e${i} = ns[${JSON.stringify(n)}];`, `export { e${i} as ${IDENTIFIER.test(n) ? n : JSON.stringify(n)} };`));
  return lines.join('\n');
}

/** A CommonJS module whose every property is the builtin's, the builtin required on first access. */
export function lazyBuiltin(name: string): string {
  return [
    'let real;',
    `const load = () => (real ??= require(${JSON.stringify(name)}));`,
    'module.exports = new Proxy({}, {',
    '  get: (_, key) => load()[key],',
    '  has: (_, key) => key in load(),',
    '  ownKeys: () => Reflect.ownKeys(load()),',
    '  getOwnPropertyDescriptor: (_, key) => ({ ...Reflect.getOwnPropertyDescriptor(load(), key), configurable: true }),',
    '});',
  ].join('\n');
}

/**
 * Every `import(…)` expression of the bundle (found by parsing it, never in a string or comment)
 * becomes `__rfImport(…)`.
 */
export function routeDynamicImports(code: string): string {
  const starts: number[] = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    const n = node as { type?: unknown; start?: number };
    if (n.type === 'ImportExpression') starts.push(n.start!);
    for (const [k, v] of Object.entries(node)) if (k !== 'loc' && v !== null && typeof v === 'object') walk(v);
  };
  walk(parse(code, { ecmaVersion: 'latest', sourceType: 'script' }));
  let out = '';
  let at = 0;
  for (const start of starts.sort((a, b) => a - b)) {
    if (code.slice(start, start + 6) !== 'import') throw new Error(`bundle: no import() at offset ${start}`);
    out += `${code.slice(at, start)}__rfImport`;
    at = start + 6;
  }
  return out + code.slice(at);
}

/**
 * Writes `<outDir>/<name>.bundle.cjs` (the compiled entry) and `<outDir>/<name>.mjs`, its launcher
 * (engine/fast-start/launcher.ts compiled with what it needs to know), and drops any code cache of an
 * earlier build (it would be refused anyway: the cache names the bundle's digest).
 */
export async function buildEntry(
  entry: string,
  outDir: string,
  name: string,
  root: string,
  options: { readonly whenStale?: LaunchSpec['whenStale'] } = {},
): Promise<LaunchSpec> {
  const esbuild = await import('esbuild');
  const externals: string[] = [];
  const result = await esbuild
    .build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      // ES modules are strict; so is their CommonJS translation (and the packages bundled with them, as before).
      banner: { js: "'use strict';" },
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'source-urls',
          setup(build) {
            // A bare import from project code is external unless its package is in BUNDLED; what a
            // bundled package imports is bundled with it.
            build.onResolve({ filter: /^[^./]/ }, (args) => {
              if (args.path.startsWith('node:') || args.importer.includes('/node_modules/') || args.namespace === 'rf-external') return undefined;
              if (BUNDLED.has(packageOf(args.path))) return undefined;
              if (args.kind === 'dynamic-import' || isCommonJs(args.path)) return { path: args.path, external: true };
              if (!externals.includes(args.path)) externals.push(args.path);
              return { path: args.path, namespace: 'rf-external' };
            });
            // zod re-exports all its 40 locales (a quarter of the bundle, parsed and cached at every
            // start); the engine uses none but English, its default, so z.locales holds only `en`.
            build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
              args.importer.includes('/node_modules/zod/')
                ? { path: resolve(dirname(args.importer), '../locales/en.js'), namespace: 'rf-zod-locales' }
                : undefined,
            );
            build.onLoad({ filter: /.*/, namespace: 'rf-zod-locales' }, (args) => ({
              contents: `export { default as en } from ${JSON.stringify(args.path)};\n`,
              loader: 'js',
              resolveDir: dirname(args.path),
            }));
            // commander requires child_process at load, for executable subcommands the CLIs do not
            // have; with net, dgram and the streams it pulls in, that is milliseconds of every start.
            // It gets a stand-in that loads the real module on first use.
            build.onResolve({ filter: /^node:child_process$/ }, (args) =>
              args.importer.includes('/node_modules/commander/') ? { path: 'node:child_process', namespace: 'rf-lazy-builtin' } : undefined,
            );
            build.onLoad({ filter: /.*/, namespace: 'rf-lazy-builtin' }, (args) => ({ contents: lazyBuiltin(args.path), loader: 'js' }));
            build.onLoad({ filter: /.*/, namespace: 'rf-external' }, async (args) => ({ contents: await externalModule(args.path), loader: 'js' }));
            build.onLoad({ filter: /\.ts$/ }, (args) => {
              const text = readFileSync(args.path, 'utf8');
              const url = `__rfSourceUrl(${JSON.stringify(rootRelative(root, args.path))})`;
              return { contents: text.replaceAll('import.meta.url', url).replaceAll('import.meta.resolve', '__rfImportMetaResolve'), loader: 'ts' };
            });
          },
        },
      ],
    })
    .catch((e: Error) => {
      if (/Top-level await/.test(e.message)) {
        throw new Error(`${e.message}\nThe compiled CLI is CommonJS, so that V8 can cache its code: call main() without await (it reports its own errors).`);
      }
      throw e;
    });
  const metaLeft = result.warnings.filter((w) => w.id === 'empty-import-meta');
  if (metaLeft.length > 0) {
    const w = metaLeft[0]!;
    throw new Error(`${w.location?.file ?? entry}:${w.location?.line ?? 0}: import.meta would be empty in the compiled CLI (${w.text})`);
  }
  const bundleFile = resolve(outDir, `${name}.bundle.cjs`);
  const sources = (inputs: Record<string, unknown>) =>
    Object.keys(inputs)
      .filter((p) => !p.includes(':'))
      .map((p) => {
        const file = resolve(root, p);
        const st = statSync(file);
        return [rootRelative(root, file), st.size, st.mtimeMs, createHash('sha256').update(readFileSync(file)).digest('hex')] as const;
      });
  const launcherSource = fileURLToPath(new URL('./launcher.ts', import.meta.url));
  const manifest: BundleManifest = { sources: [...sources(result.metafile.inputs), ...sources({ [relative(root, launcherSource)]: true })] };
  const spec: LaunchSpec = {
    root: relative(outDir, root) || '.',
    entry: rootRelative(root, entry),
    bundle: relative(outDir, bundleFile),
    manifest,
    externals,
    ...(options.whenStale ? { whenStale: options.whenStale } : {}),
  };
  const launcher = await esbuild.build({
    stdin: {
      // import() and import.meta.resolve written here resolve from the launcher's folder (dist/).
      contents: `import { launch } from ${JSON.stringify(launcherSource)};\nawait launch(${JSON.stringify(spec)}, import.meta.url, (s) => import(s), import.meta.resolve);\n`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    banner: { js: `// Generated by engine/fast-start/bundle.ts: runs ${name}.bundle.cjs while its sources are unchanged.` },
  });
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(bundleFile, routeDynamicImports(result.outputFiles[0]!.text));
  rmSync(cachePath(bundleFile), { force: true });
  writeFileAtomic(resolve(outDir, `${name}.mjs`), launcher.outputFiles[0]!.text);
  // The ES bundle earlier builds wrote; nothing runs it any more.
  const old = resolve(outDir, `${name}.bundle.mjs`);
  if (existsSync(old)) rmSync(old);
  return spec;
}

/**
 * A project's compiled worker (engine/fast-start/compiled-worker.ts says where): engine/run/worker.ts with the
 * project module compiled in, so that it starts without tsx. The local executor forks it while
 * its sources are unchanged (the launch spec beside it lists them) and the tsx worker otherwise.
 */
export async function buildCompiledWorker(projectModule: string, root: string, kind: WorkerKind = 'local'): Promise<string> {
  const files = compiledWorkerFiles(projectModule, kind);
  mkdirSync(files.dir, { recursive: true });
  const engine = (f: string) => JSON.stringify(fileURLToPath(new URL(f, import.meta.url)));
  // The driver names the project by its URL in this checkout, wherever the checkout is now.
  const projectFromEntry = relative(dirname(files.entry), fileURLToPath(projectModule)).split(sep).join('/');
  writeFileAtomic(
    files.entry,
    [
      '// Generated by engine/fast-start/bundle.ts (buildCompiledWorker): the worker with its project compiled in.',
      `import * as project from ${JSON.stringify(fileURLToPath(projectModule))};`,
      `import { preloadProjectModule } from ${engine('./preloaded-projects.ts')};`,
      `preloadProjectModule(new URL(${JSON.stringify(projectFromEntry)}, import.meta.url).href, project);`,
      `void import(${engine(WORKER_MODULES[kind])});`,
      '',
    ].join('\n'),
  );
  // A local worker talks to its driver over IPC, which a tsx child started in its place would not
  // inherit; a Slurm job's worker reports through files, so it may fall back to its sources.
  const spec = await buildEntry(files.entry, files.dir, files.name, root, { whenStale: kind === 'local' ? 'exit' : 'source' });
  // Written last: until it exists, the executor does not consider the worker built.
  writeFileAtomic(files.spec, JSON.stringify(spec));
  return files.launcher;
}

// `tsx engine/fast-start/bundle.ts <entry.ts> <name> [--worker <project module>]`: compile an entry into dist/,
// and the project's worker into dist/workers/.
if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--worker');
  const worker = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const [entry, name] = args;
  if (!entry || !name || (at >= 0 && !worker)) {
    process.stderr.write('usage: tsx engine/fast-start/bundle.ts <entry.ts> <name> [--worker <project module>]\n');
    process.exit(2);
  }
  const root = process.cwd();
  const spec = await buildEntry(resolve(root, entry), resolve(root, 'dist'), name, root);
  // For the TypeScript entry that hands over to this build (pipeline.ts, runCompiledIfFresh).
  writeFileAtomic(launchSpecPath(resolve(root, 'dist'), name), JSON.stringify(spec));
  process.stdout.write(`built dist/${name}.mjs\n`);
  if (worker) {
    for (const kind of ['local', 'slurm'] as const) {
      const launcher = await buildCompiledWorker(pathToFileURL(resolve(root, worker)).href, root, kind);
      process.stdout.write(`built ${relative(root, launcher)} (the ${kind} worker of ${worker})\n`);
    }
  }
}
