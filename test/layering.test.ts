import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceClosure } from '../engine/core/source-digest.ts';

/**
 * The layering rules (docs/ARCHITECTURE.md): the engine knows nothing of machine learning, and ml/
 * nothing of the engine; contracts/ (shared by both) imports neither. Checked on every import
 * that a file's closure reaches, static or literal dynamic.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });

const rules: [string, readonly string[]][] = [
  ['engine', ['ml/', 'stages/', 'experiments/', 'report/', 'pipeline.ts']],
  ['ml', ['engine/', 'stages/', 'experiments/', 'report/', 'pipeline.ts']],
  ['contracts', ['engine/', 'ml/', 'stages/', 'experiments/', 'report/', 'pipeline.ts']],
  ['base', ['contracts/', 'engine/', 'ml/', 'stages/', 'experiments/', 'report/', 'pipeline.ts']],
];

for (const [layer, forbidden] of rules) {
  test(`${layer}/ reaches nothing in ${forbidden.join(', ')}`, () => {
    const offences: string[] = [];
    for (const file of tsFiles(layer)) {
      // Only this file's own imports: the closure minus itself, read one level deep.
      const text = readFileSync(join(ROOT, file), 'utf8');
      if (!/import/.test(text)) continue;
      const reached = sourceClosure(join(ROOT, file), ROOT).files.filter((f) => f !== relative(ROOT, join(ROOT, file)));
      for (const f of reached) if (forbidden.some((p) => f.startsWith(p))) offences.push(`${file} -> ${f}`);
    }
    assert.deepEqual([...new Set(offences)].slice(0, 10), []);
  });
}
