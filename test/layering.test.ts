import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceClosure } from '../engine/core/source-digest.ts';

/**
 * Every layering rule docs/ARCHITECTURE.md states ("Layers"), checked on the imports each file's
 * closure reaches (static or literal dynamic) unless a rule says static only.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });

const LAYERS = ['base/', 'contracts/', 'engine/', 'ml/', 'report/', 'stages/', 'experiments/', 'pipeline.ts'] as const;

/** Each layer and the layers it may import besides itself (pipeline.ts -> experiments -> stages -> report -> engine, ml -> contracts -> base). */
const allowed: Record<string, readonly string[]> = {
  base: [],
  contracts: ['base/'],
  engine: ['base/', 'contracts/'],
  ml: ['base/', 'contracts/'],
  report: ['engine/', 'ml/', 'base/', 'contracts/'],
  stages: ['report/', 'engine/', 'ml/', 'base/', 'contracts/'],
  experiments: ['stages/', 'report/', 'engine/', 'ml/', 'base/', 'contracts/'],
};

/** Files of the project (one of the layers) that `file` reaches, itself left out. */
function reached(file: string): string[] {
  return sourceClosure(join(ROOT, file), ROOT)
    .files.filter((f) => f !== file)
    .filter((f) => LAYERS.some((l) => f.startsWith(l)));
}

for (const [layer, may] of Object.entries(allowed)) {
  const forbidden = LAYERS.filter((l) => l !== `${layer}/` && !may.includes(l));
  test(`${layer}/ reaches nothing in ${forbidden.join(', ')}`, () => {
    const offences: string[] = [];
    for (const file of tsFiles(layer)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      if (!/import/.test(text)) continue;
      for (const f of reached(file)) if (forbidden.some((p) => f.startsWith(p))) offences.push(`${file} -> ${f}`);
    }
    assert.deepEqual([...new Set(offences)].slice(0, 10), []);
  });
}

/** Static imports only (`import ... from`, `export ... from`, `import '...'`), type-only ones left out: what loading a module loads. */
function staticClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [resolve(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      if (m[2]) continue;
      const spec = m[3]!;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) stack.push(target);
      } else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)), packages: [...packages] };
}

test('stage declaration files load no tfjs when imported (the driver imports every stage to build the DAG)', () => {
  const declarations = tsFiles('stages').filter((f) => /\bdefineStage\s*\(/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.ok(declarations.length >= 5, `found ${declarations.length} stage declaration files`);
  const offences = declarations.flatMap((f) => {
    const c = staticClosure(f);
    return c.packages.filter((p) => p.startsWith('@tensorflow/')).map((p) => `${f} -> ${p}`);
  });
  assert.deepEqual(offences, []);
});

test('the static-import reader sees what it must (else the rule above could not fail)', () => {
  const c = staticClosure('ml/train/step.ts');
  assert.ok(
    c.packages.some((p) => p.startsWith('@tensorflow/')),
    `ml/train/step.ts statically imports tfjs: ${c.packages.join(', ')}`,
  );
});

test('planning reaches no executor: a dry run, status and up-to-date run nothing (engine/plan/)', () => {
  const executors = ['engine/exec/local.ts', 'engine/exec/inline.ts', 'engine/exec/slurm/executor.ts'];
  const offences = tsFiles('engine/plan').flatMap((f) =>
    reached(f)
      .filter((r) => executors.includes(r))
      .map((r) => `${f} -> ${r}`),
  );
  assert.deepEqual(offences, []);
});
