/**
 * The engine calls stages through one type-erased interface (AnyStage) that defineStage builds, so
 * nothing at the engine's boundary casts a stage's parameters (`as never`).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineStage, type AnyStage, type AnyStageContext } from '../engine/core/stage.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const declared = defineStage({
  name: 'scaled',
  version: 1,
  module: import.meta.url,
  description: 'writes size x factor',
  params: z.object({ size: z.number() }),
  inputs: { data: { kind: 'file' }, extra: { kind: 'file', many: true } },
  outputs: { out: { kind: 'file' } },
  estimateSeconds: (p, hints) => p.size * (typeof hints['factor'] === 'number' ? hints['factor'] : 1),
  similarity: (p) => [`size=${p.size}`],
  async run(ctx) {
    ctx.log(`${ctx.params.size} ${ctx.inputs.data} ${ctx.inputs.extra.join(',')} ${ctx.outputs.out}`);
    return { metrics: { size: ctx.params.size } };
  },
});

test('the erased stage computes what its declaration does', async () => {
  const erased: AnyStage = declared;
  assert.equal(erased.estimateSeconds?.({ size: 3 }, { factor: 2 }), 6);
  assert.deepEqual(erased.similarity?.({ size: 3 }, {}), ['size=3']);
  assert.equal(declared.estimateSeconds?.({ size: 4 }, {}), 4, 'the typed view still takes typed parameters');
  const logged: string[] = [];
  const ctx: AnyStageContext = {
    params: { size: 5 },
    inputs: { data: '/in/data', extra: ['/in/a', '/in/b'] },
    outputs: { out: '/out/out' },
    scratchDir: '/scratch',
    nodeId: 'scaled@5',
    nodeKey: 'k',
    progress: () => {},
    log: (m) => logged.push(m),
    environment: () => {},
    series: () => {},
  };
  assert.deepEqual(await erased.run(ctx), { metrics: { size: 5 } });
  assert.deepEqual(logged, ['5 /in/data /in/a,/in/b /out/out']);
  assert.equal(erased.name, 'scaled');
  assert.deepEqual(Object.keys(erased.inputs), ['data', 'extra']);
});

test('a stage without a formula has none after erasure', () => {
  const bare = defineStage({
    name: 'bare',
    version: 1,
    module: import.meta.url,
    description: '',
    params: z.object({}),
    inputs: {},
    outputs: {},
    async run() {},
  });
  assert.equal('estimateSeconds' in bare, false);
  assert.equal('similarity' in bare, false);
});

test("nothing in engine/ casts a stage's types away (`as never`)", () => {
  const files = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((n) => (statSync(join(ROOT, dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
  const offending = files('engine').filter((f) => /\bas never\b/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(offending, []);
});
