/**
 * report/ has no import circle (type-only imports count: a circle of types still ties two files
 * so that neither can be read, moved or tested without the other).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/** The files of report/ that `file` imports (static, type-only, re-exports and literal import()). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => normalize(join(dirname(file), s))).filter((f) => f.startsWith(`report/`) && f !== file);
}

/** Every circle, each once, as a path that starts and ends at the same file. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found = new Map<string, string[]>();
  const visit = (path: string[]) => {
    for (const next of graph.get(path[path.length - 1]!) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = path.slice(at);
        found.set([...loop].sort().join(' '), [...loop, next]);
      } else visit([...path, next]);
    }
  };
  for (const f of graph.keys()) visit([f]);
  return [...found.values()];
}

test('the import graph finds a circle when there is one', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(circles(g), [['a', 'b', 'c', 'a']]);
});

test('report/ has no import circle', () => {
  const graph = new Map(tsFiles('report').map((f) => [relative(ROOT, join(ROOT, f)), importsOf(f)] as const));
  assert.ok(graph.get('report/figures.ts')?.includes('report/figure-claims.ts'), 'the import reader misses figures.ts -> figure-claims.ts');
  assert.deepEqual(
    circles(graph).map((c) => c.join(' -> ')),
    [],
  );
});
