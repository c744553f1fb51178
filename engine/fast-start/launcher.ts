import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

/**
 * What a compiled CLI's launcher (`dist/<name>.mjs`, written by engine/fast-start/bundle.ts) does at every
 * start: refuse a bundle whose sources changed, then run the CommonJS bundle through `vm.Script`
 * with V8's code cache, so that a start neither parses the 1.3 MB bundle nor compiles again the
 * functions the last run compiled. Only node builtins are imported here: this module is compiled
 * into every launcher.
 *
 * The cache (`<bundle>.cache`) starts with the SHA-256 of the bundle it was made from and of its
 * own payload. V8 checks only the source's length, its own version and flags, and (in release
 * builds) no checksum: a cache made from another bundle of the same length, or a flipped byte,
 * would run stale or broken code. So a cache is used only when both digests match, and V8's own
 * verdict (`cachedDataRejected`) is checked too; anything else runs the bundle from its text and
 * writes a fresh cache at exit (atomically; a read-only install just goes without).
 *
 * Every path a spec holds is relative to the folder the spec lives in (the launcher's, dist/ or
 * dist/workers/), and the bundle names its sources relative to the project root: a checkout that
 * is copied or moved runs its own sources' bundle against its own sources, never the original's.
 */

export interface BundleManifest {
  /** Each source the bundle holds: its path relative to the root, size, mtime and SHA-256 of its bytes. */
  readonly sources: ReadonlyArray<readonly [path: string, size: number, mtimeMs: number, sha256: string]>;
}

export interface LaunchSpec {
  /** The project root the manifest's paths are relative to, relative to the spec's folder. */
  readonly root: string;
  /** The TypeScript entry (relative to root), run through tsx when the bundle is stale. */
  readonly entry: string;
  /** The CommonJS bundle, relative to the spec's folder. */
  readonly bundle: string;
  readonly manifest: BundleManifest;
  /** Packages the bundle imports statically, loaded (as ES modules, in this order) before it runs. */
  readonly externals: readonly string[];
  /**
   * What a start does when a source changed: run the entry from source through tsx (a CLI), or
   * exit with STALE_EXIT (a compiled worker: its driver talks to it over IPC, which a tsx child
   * would not inherit; the driver starts a tsx worker instead).
   */
  readonly whenStale?: 'source' | 'exit';
}

/** The exit status of a compiled worker started after one of its sources changed. */
export const STALE_EXIT = 75;

/** How the code cache was used by one start. */
export type CacheState = 'hit' | 'absent' | 'other-bundle' | 'corrupt' | 'rejected' | 'disabled';

const MAGIC = 'rfcc1\n';
const HEADER = MAGIC.length + 64 + 1 + 64 + 1;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export const cachePath = (bundle: string): string => `${bundle}.cache`;

/** A launch spec's root and bundle as absolute paths, for a spec read from the folder `specDir`. */
export interface PlacedSpec {
  readonly spec: LaunchSpec;
  readonly root: string;
  readonly bundle: string;
}

export const placeSpec = (spec: LaunchSpec, specDir: string): PlacedSpec => ({
  spec,
  root: resolve(specDir, spec.root),
  bundle: resolve(specDir, spec.bundle),
});

/**
 * The first source file that differs from the manifest (or is gone), if any. Size and mtime
 * unchanged is taken as unchanged (as make does); a file whose mtime moved (a copy without -a, a
 * checkout) is compared by content, so only a real change makes the bundle stale.
 */
export function staleSource(root: string, manifest: BundleManifest): string | undefined {
  for (const [p, size, mtime, digest] of manifest.sources) {
    try {
      const file = resolve(root, p);
      const st = statSync(file);
      if (st.size !== size) return p;
      if (st.mtimeMs !== mtime && (typeof digest !== 'string' || sha256(readFileSync(file)) !== digest)) return p;
    } catch {
      return p;
    }
  }
  return undefined;
}

/** The cached data in a cache file, if it was made from exactly this bundle text and is intact. */
export function readCache(file: string, bundleDigest: string): { data?: Buffer; state: CacheState } {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    return { state: 'absent' };
  }
  if (raw.length <= HEADER || raw.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return { state: 'corrupt' };
  const head = raw.subarray(MAGIC.length, HEADER).toString('latin1');
  const [forBundle, payloadDigest] = [head.slice(0, 64), head.slice(65, 129)];
  if (forBundle !== bundleDigest) return { state: 'other-bundle' };
  const data = raw.subarray(HEADER);
  if (sha256(data) !== payloadDigest) return { state: 'corrupt' };
  return { data, state: 'hit' };
}

export function writeCache(file: string, bundleDigest: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC}${bundleDigest}\n${sha256(data)}\n`, 'latin1'), data]));
    renameSync(tmp, file);
  } catch {
    // A read-only install runs without a cache; it must not fail the command.
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing was written */
    }
  }
}

/** The globals a bundle's wrapper receives besides CommonJS's own. */
export interface BundleGlobals {
  /** The launcher's import(): the bundle's own import() calls are routed to it (engine/fast-start/bundle.ts). */
  readonly importModule: (specifier: string) => Promise<unknown>;
  /** Namespaces of the static externals, keyed by specifier. */
  readonly externals: Readonly<Record<string, unknown>>;
  /** `import.meta.resolve` of the launcher (the sources' own calls resolve from dist/, as an ES bundle's did). */
  readonly importMetaResolve: (specifier: string) => string;
  /** The file URL of a source the bundle was built from, by its path relative to the project root (its `import.meta.url`). */
  readonly sourceUrl: (relativePath: string) => string;
}

/** `BundleGlobals.sourceUrl` for a project whose root is `root` (absolute). */
export function sourceUrlsUnder(root: string): (relativePath: string) => string {
  const urls = new Map<string, string>();
  return (p) => {
    let url = urls.get(p);
    if (url === undefined) urls.set(p, (url = pathToFileURL(resolve(root, p)).href));
    return url;
  };
}

/**
 * Compiles and runs a bundle written by engine/fast-start/bundle.ts (a CommonJS function body) with the code
 * cache next to it. `RF_CODE_CACHE=0` runs without it (for measuring); the state is printed to
 * stderr when `RF_CODE_CACHE_DEBUG` is set.
 */
export function runBundle(bundle: string, globals: BundleGlobals): CacheState {
  const bytes = readFileSync(bundle);
  const digest = sha256(bytes);
  // esbuild writes ASCII (charset 'ascii'), which decodes fastest as one-byte text.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const file = cachePath(bundle);
  const useCache = process.env.RF_CODE_CACHE !== '0';
  const cached = useCache ? readCache(file, digest) : { state: 'disabled' as const };
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __rfExternals, __rfImport, __rfImportMetaResolve, __rfSourceUrl) {${source}\n})`,
    {
      filename: bundle,
      ...(cached.data ? { cachedData: cached.data } : {}),
    },
  );
  const state: CacheState = cached.data && script.cachedDataRejected === true ? 'rejected' : cached.state;
  if (process.env.RF_CODE_CACHE_DEBUG) process.stderr.write(`code cache: ${state}\n`);
  // Made at exit, so that it holds every function this run compiled, not just the top level.
  if (useCache && state !== 'hit') process.once('exit', () => writeCache(file, digest, script.createCachedData()));
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} };
  fn.call(
    module.exports,
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    dirname(bundle),
    globals.externals,
    globals.importModule,
    globals.importMetaResolve,
    globals.sourceUrl,
  );
  return state;
}

async function start(
  placed: PlacedSpec,
  importModule: (specifier: string) => Promise<unknown>,
  importMetaResolve: (specifier: string) => string,
): Promise<void> {
  const externals: Record<string, unknown> = {};
  // In order, before the bundle runs: what an ES bundle's hoisted imports did.
  for (const s of placed.spec.externals) externals[s] = await importModule(s);
  runBundle(placed.bundle, { externals, importModule, importMetaResolve, sourceUrl: sourceUrlsUnder(placed.root) });
}

/** Where `npm run build` writes a CLI's launch spec beside its launcher (for runCompiledIfFresh). */
export const launchSpecPath = (outDir: string, name: string): string => resolve(outDir, `${name}.launch.json`);

/**
 * The launch spec in `specFile` when it reads, its bundle is there and no source it lists changed
 * since the build; otherwise undefined. The one freshness check for compiled CLIs and workers.
 */
export function freshLaunchSpec(specFile: URL | string): PlacedSpec | undefined {
  try {
    const path = typeof specFile === 'string' ? specFile : fileURLToPath(specFile);
    const placed = placeSpec(JSON.parse(readFileSync(path, 'utf8')) as LaunchSpec, dirname(path));
    return statSync(placed.bundle).isFile() && staleSource(placed.root, placed.spec.manifest) === undefined ? placed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For a CLI entry started from its TypeScript sources: runs, in this process, the compiled copy
 * that the launch spec in `specFile` describes, when it is fresh (freshLaunchSpec). False (nothing
 * run, nothing printed) otherwise or with RF_COMPILED_CLI=0: the caller then runs its sources,
 * which are never stale.
 */
export async function runCompiledIfFresh(
  specFile: URL | string,
  importModule: (specifier: string) => Promise<unknown>,
  importMetaResolve: (specifier: string) => string,
): Promise<boolean> {
  const placed = process.env.RF_COMPILED_CLI === '0' ? undefined : freshLaunchSpec(specFile);
  if (placed === undefined) return false;
  await start(placed, importModule, importMetaResolve);
  return true;
}

/**
 * The launcher's whole job: the bundle while its sources are unchanged (and this node can load it),
 * else the TypeScript entry through tsx (slower, never stale) after saying how to rebuild.
 * `launcherUrl` is the launcher's own URL: the spec's paths are relative to its folder.
 */
export async function launch(
  spec: LaunchSpec,
  launcherUrl: string,
  importModule: (specifier: string) => Promise<unknown>,
  importMetaResolve: (specifier: string) => string,
): Promise<void> {
  const placed = placeSpec(spec, dirname(fileURLToPath(launcherUrl)));
  const stale = staleSource(placed.root, spec.manifest);
  if (stale === undefined) {
    await start(placed, importModule, importMetaResolve);
    return;
  }
  if (spec.whenStale === 'exit') {
    process.stderr.write(`${stale} changed since this compiled worker was built; not starting it\n`);
    process.exit(STALE_EXIT);
  }
  process.stderr.write(`note: ${stale} changed since the compiled CLI was built; running from source (npm run build makes it fast again)\n`);
  // Imported here, not at the top: child_process costs the fast path a few milliseconds.
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', spec.entry, ...process.argv.slice(2)], { cwd: placed.root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
