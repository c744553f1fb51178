// Stage declarations stay small: the driver imports every one to build the graph, so each names
// its run code (stages/run/<stage>.ts, which imports the heavy modules statically) through one
// literal lazy import, which the engine follows into the stage's code digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceClosure } from '../engine/core/source-digest.ts';
import { project } from '../experiments/project.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');

test('each stage declaration reaches its run code through exactly one lazy import, which is part of its code digest', () => {
  assert.ok(project.stages.length >= 14);
  for (const stage of project.stages) {
    const file = fileURLToPath(stage.module);
    const imports = [...readFileSync(file, 'utf8').matchAll(/import\s*\(\s*(['"][^'"]*['"])?/g)].map((m) => m[1] ?? '(computed)');
    assert.deepEqual(imports, [`'./run/${stage.name}.ts'`], `${stage.name}: lazy imports of its declaration`);
    const run = `stages/run/${stage.name}.ts`;
    assert.ok(existsSync(join(ROOT, run)), run);
    const files = sourceClosure(stage.module, ROOT).files;
    assert.ok(files.includes(run), `${stage.name}: ${run} is in its code digest`);
    // Nor does another stage's code join it (declarations share schemas through stages/schemas.ts).
    const others = project.stages.filter((s) => s !== stage).flatMap((s) => [`stages/${s.name}.ts`, `stages/run/${s.name}.ts`]);
    assert.deepEqual(
      files.filter((f) => others.includes(f)),
      [],
      `${stage.name}: other stages' code in its digest`,
    );
  }
});

/** The @tensorflow files loaded once `modules` are imported, in a fresh process. */
function tfjsLoadedBy(modules: readonly string[]): number {
  const script = [
    "import { createRequire } from 'node:module';",
    `for (const m of ${JSON.stringify(modules)}) await import(m);`,
    'const cache = createRequire(import.meta.url).cache;',
    "console.log(Object.keys(cache).filter((f) => f.includes('/@tensorflow/')).length);",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return Number(out.trim());
}

test('importing every stage declaration loads no tfjs; importing run code does', { timeout: 120_000 }, () => {
  const declarations = project.stages.map((s) => s.module);
  assert.equal(tfjsLoadedBy(declarations), 0);
  assert.ok(tfjsLoadedBy([new URL('../stages/run/train.ts', import.meta.url).href]) > 0, 'the check sees tfjs when it is loaded');
});
