import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './canonical-json.ts';

/**
 * The digest of a stage's code: every project file reachable from the stage module through static
 * or literal dynamic imports, plus the installed version of every package those files import.
 * Editing a helper three imports away, or upgrading tfjs, changes the stage's nodes' keys.
 *
 * Import specifiers are found with a regular expression rather than a parser: a false positive
 * (an import-like string in a comment) can only add a file to the digest, never drop one.
 */

const IMPORT_RE = /(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
const EXTENSIONS = ['', '.ts', '.tsx', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];

export interface SourceClosure {
  readonly digest: string;
  /** Project files (relative to `root`) in the closure, sorted; then any extra files, in the given order. */
  readonly files: readonly string[];
  /** Content hash of every file in `files` (an absent extra file hashes as 'absent'). */
  readonly hashes: Readonly<Record<string, string>>;
  /** Bare package imports with their installed versions. */
  readonly packages: Readonly<Record<string, string>>;
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base, ...EXTENSIONS.map((e) => base + e)];
  // `./x.js` written for a `.ts` file (NodeNext style)
  if (/\.m?js$/.test(spec)) candidates.push(base.replace(/\.m?js$/, '.ts'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The installed version of a package under `root` ('builtin' for node:, 'absent' when not installed). */
export function packageVersion(root: string, name: string): string {
  if (name.startsWith('node:')) return 'builtin';
  const manifest = join(root, 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'absent';
  }
}

/**
 * Files outside the import graph that also compute a stage's results (e.g. native sources loaded
 * through `createRequire`): given the project files of a stage's closure (relative to the code
 * root), the further files (relative to it too) whose content joins the stage's code digest.
 */
export type ExtraCode = (closureFiles: readonly string[]) => readonly string[];

/** What one file contributes to a closure: its content hash, the project files and the packages it imports. */
interface FileFacts {
  readonly hash: string;
  readonly locals: readonly string[];
  readonly packages: readonly string[];
}

/**
 * Facts already gathered in this process, shared by the closures of every stage (most files are in
 * many of them). Only for closures taken at one moment: a memo never notices an edit.
 */
export interface ClosureMemo {
  readonly files: Map<string, FileFacts>;
  readonly versions: Map<string, string>;
  readonly extras: Map<string, string>;
}

export const newClosureMemo = (): ClosureMemo => ({ files: new Map(), versions: new Map(), extras: new Map() });

function factsOf(file: string): FileFacts {
  const text = readFileSync(file, 'utf8');
  const locals: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec === undefined) continue;
    if (spec.startsWith('.') || spec.startsWith('/')) {
      const target = resolveLocal(file, spec);
      if (target !== undefined && !target.includes(`${'/'}node_modules${'/'}`)) locals.push(target);
    } else {
      packages.push(packageName(spec));
    }
  }
  return { hash: sha256(text), locals, packages };
}

const memoised = <K, V>(memo: Map<K, V> | undefined, key: K, compute: () => V): V => {
  if (memo === undefined) return compute();
  let v = memo.get(key);
  if (v === undefined) {
    v = compute();
    memo.set(key, v);
  }
  return v;
};

export function sourceClosure(moduleUrlOrPath: string, root: string, extra?: ExtraCode, memo?: ClosureMemo): SourceClosure {
  const entry = moduleUrlOrPath.startsWith('file:') ? fileURLToPath(moduleUrlOrPath) : resolve(moduleUrlOrPath);
  const seen = new Map<string, string>(); // absolute path -> content hash
  const packages = new Map<string, string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const facts = memoised(memo?.files, file, () => factsOf(file));
    seen.set(file, facts.hash);
    stack.push(...facts.locals);
    for (const name of facts.packages)
      if (!packages.has(name))
        packages.set(
          name,
          memoised(memo?.versions, name, () => packageVersion(root, name)),
        );
  }
  const files = [...seen.keys()].map((f) => relative(root, f)).sort();
  const hashes: Record<string, string> = Object.fromEntries(files.map((f) => [f, seen.get(resolve(root, f))!]));
  const extras = (extra?.(files) ?? []).filter((f) => !(f in hashes));
  for (const f of extras) {
    const abs = resolve(root, f);
    hashes[f] = memoised(memo?.extras, abs, () => (existsSync(abs) ? sha256(readFileSync(abs)) : 'absent'));
  }
  const record = {
    files: files.map((f) => [f, hashes[f]]),
    packages: [...packages.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    // Only present when used, so projects without extras keep their keys.
    ...(extras.length > 0 ? { extra: extras.map((f) => [f, hashes[f]]) } : {}),
  };
  return { digest: sha256(JSON.stringify(record)), files: [...files, ...extras], hashes, packages: Object.fromEntries(record.packages) };
}

/** Files whose content differs between two closures of one stage (or that only one has). */
export function changedFiles(a: SourceClosure, b: SourceClosure): string[] {
  const names = [...new Set([...Object.keys(a.hashes), ...Object.keys(b.hashes)])].sort();
  return names.filter((f) => a.hashes[f] !== b.hashes[f]);
}

/**
 * Memoises closures for one process: the first digest of a module is the code this process loaded
 * (it is taken when the project is imported), and one CLI invocation never sees source edits mid-run.
 */
export class SourceDigests {
  private readonly cache = new Map<string, SourceClosure>();
  private readonly memo = newClosureMemo();
  constructor(
    readonly root: string,
    readonly extra?: ExtraCode,
  ) {}
  of(moduleUrl: string): SourceClosure {
    let c = this.cache.get(moduleUrl);
    if (c === undefined) {
      c = sourceClosure(moduleUrl, this.root, this.extra, this.memo);
      this.cache.set(moduleUrl, c);
    }
    return c;
  }
  /** The closure as the files are now (not memoised). */
  current(moduleUrl: string): SourceClosure {
    return sourceClosure(moduleUrl, this.root, this.extra);
  }
}

/** The nearest folder at or above a module that holds package.json (where node_modules lives). */
export function codeRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${moduleUrl}`);
    dir = up;
  }
  return dir;
}
