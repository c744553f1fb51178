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
  /** Project files (relative to `root`) in the closure, sorted. */
  readonly files: readonly string[];
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

function packageVersion(root: string, name: string): string {
  if (name.startsWith('node:')) return 'builtin';
  const manifest = join(root, 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'absent';
  }
}

export function sourceClosure(moduleUrlOrPath: string, root: string): SourceClosure {
  const entry = moduleUrlOrPath.startsWith('file:') ? fileURLToPath(moduleUrlOrPath) : resolve(moduleUrlOrPath);
  const seen = new Map<string, string>(); // absolute path -> content hash
  const packages = new Map<string, string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    seen.set(file, sha256(text));
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec === undefined) continue;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = resolveLocal(file, spec);
        if (target !== undefined && !target.includes(`${'/'}node_modules${'/'}`)) stack.push(target);
      } else {
        const name = packageName(spec);
        if (!packages.has(name)) packages.set(name, packageVersion(root, name));
      }
    }
  }
  const files = [...seen.keys()].map((f) => relative(root, f)).sort();
  const record = {
    files: files.map((f) => [f, seen.get(resolve(root, f))]),
    packages: [...packages.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
  };
  return { digest: sha256(JSON.stringify(record)), files, packages: Object.fromEntries(record.packages) };
}

/** Memoises closures for one process (one CLI invocation never sees source edits mid-run). */
export class SourceDigests {
  private readonly cache = new Map<string, SourceClosure>();
  constructor(private readonly root: string) {}
  of(moduleUrl: string): SourceClosure {
    let c = this.cache.get(moduleUrl);
    if (c === undefined) {
      c = sourceClosure(moduleUrl, this.root);
      this.cache.set(moduleUrl, c);
    }
    return c;
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
