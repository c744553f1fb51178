// No module imports itself back through its static (non-type) imports: in a circle the order of
// module evaluation decides which binding is still undefined. Type-only imports and lazy import()s
// (a stage declaration and its run code) make no circle at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// report/ and engine/ join once their own circles are gone.
const FOLDERS = ['base', 'ml', 'stages', 'experiments', 'contracts'];

const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s*['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

/** Each file's project files imported statically for their values. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const targets: string[] = [];
    for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(STATIC_IMPORT)) {
      const target = relative(ROOT, resolve(ROOT, dirname(f), m[1] ?? m[2]!));
      if (existsSync(join(ROOT, target))) targets.push(target);
    }
    edges.set(f, targets);
  }
  return edges;
}

function cycles(edges: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const g of edges.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...path.slice(path.indexOf(g)), g].join(' -> '));
      else if (!state.has(g)) visit(g);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of edges.keys()) if (!state.has(f)) visit(f);
  return found;
}

test('the finder sees a circle', () => {
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
        ['d', ['a']],
      ]),
    ),
    ['a -> b -> c -> a'],
  );
});

test(`no import circle in ${FOLDERS.join('/, ')}/`, () => {
  const files = FOLDERS.flatMap(tsFiles);
  assert.ok(files.length > 100, `${files.length} files`);
  assert.deepEqual(cycles(importGraph(files)), []);
});
