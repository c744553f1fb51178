import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';
import { parseParams, resolveProfile, parseOverride } from '../engine/plan/params.ts';
import { UserError } from '../engine/core/result.ts';
import { canonicalJson } from '../engine/core/canonical-json.ts';
import { combinations, nodeId, segment } from '../engine/plan/sweep.ts';
import { newClosureMemo, sourceClosure } from '../engine/core/source-digest.ts';
import { project } from '../experiments/project.ts';
import { checkGraph, resolveTargets } from '../engine/plan/graph.ts';
import { scale } from './fixtures/toy/scale.ts';
import { gen } from './fixtures/toy/stages.ts';

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));

test('malformed params.yaml fails before anything runs, naming the file and the key', async () => {
  const w = new ToyWorkspace('profiles:\n  base:\n    gen: { values: [1, 2\n');
  spaces.push(w);
  const syntax = await w.run(['repro', 'all']);
  assert.equal(syntax.code, 2);
  assert.match(syntax.stderr, /params\.yaml: YAML syntax error/);

  w.writeParams(baseParams([1]).replace('scale: { factor: 2 }', 'scale: { fator: 2 }'));
  const unknown = await w.run(['repro', 'all']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /profiles\.base\.scale\.fator: unknown key/);

  w.writeParams(baseParams([1]).replace('scale: { factor: 2 }', 'scale: { factor: two }'));
  const wrongType = await w.run(['repro', 'all']);
  assert.equal(wrongType.code, 2);
  assert.match(wrongType.stderr, /profiles\.base\.scale\.factor: .*expected number/i);

  w.writeParams(baseParams([1]));
  const viaSet = await w.run(['repro', 'all', '--set', 'slow.steps=-1']);
  assert.equal(viaSet.code, 2);
  assert.match(viaSet.stderr, /profiles\.base\.slow\.steps: .*\(from --set slow\.steps=-1\)/);

  // A value only the stage's own schema rejects (gen allows n <= 1000) names the node and key.
  w.writeParams(baseParams([1, 5000]));
  const stageLevel = await w.run(['repro', 'all']);
  assert.equal(stageLevel.code, 2);
  assert.match(stageLevel.stderr, /params\.yaml: gen\.values\.n: .*node gen@n5000, stage gen/);

  w.writeParams(baseParams([1]));
  const target = await w.run(['repro', 'tabel1']);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /unknown target 'tabel1'\n  targets: all, scaled, slow/);

  const profile = await w.run(['--profile', 'nope', 'repro', 'all']);
  assert.match(profile.stderr, /unknown profile 'nope'; known: base, tripled/);
  assert.equal(w.executions(), 0, 'nothing ran');
});

test('profiles inherit by deep merge; errors in inherited values say where they come from', () => {
  const schema = z.object({ a: z.object({ x: z.number(), y: z.number() }).strict(), b: z.string() }).strict();
  const file = parseParams(`profiles:
  base: { a: { x: 1, y: "2" }, b: hi }
  child: { extends: base, a: { x: 5 } }
  fixed: { extends: base, a: { y: 3 } }
`);
  assert.throws(() => resolveProfile(file, 'child', schema), /profiles\.child\.a\.y: .*\(inherited from profiles\.base\)/);
  const fixed = resolveProfile(file, 'fixed', schema);
  assert.deepEqual(fixed.params, { a: { x: 1, y: 3 }, b: 'hi' });
  const over = resolveProfile(file, 'fixed', schema, [parseOverride('a.x=7'), parseOverride('b=there')]);
  assert.deepEqual(over.params, { a: { x: 7, y: 3 }, b: 'there' });
  assert.throws(() => parseOverride('novalue'), /key=value/);
  const cyclic = parseParams('profiles:\n  a: { extends: b }\n  b: { extends: a }\n');
  assert.throws(() => resolveProfile(cyclic, 'a', schema), /inheritance cycle: a -> b -> a/);
  assert.throws(() => parseParams('profile:\n  a: {}\n'), /unknown top-level key 'profile'/);
});

test('a key unknown to a profile that another extends is refused, even where the child replaces it; a partial base is fine', () => {
  const schema = z.object({ list: z.array(z.object({ n: z.number() }).strict()), b: z.string() }).strict();
  const file = parseParams(`profiles:
  base: { list: [{ n: 1, typo: 2 }], b: hi }
  child: { extends: base, list: [{ n: 3 }] }
  partial: { list: [{ n: 1 }] }
  whole: { extends: partial, b: there }
`);
  assert.throws(
    () => resolveProfile(file, 'child', schema),
    (e: unknown) =>
      e instanceof UserError &&
      /invalid profile 'base' \(extended by 'child'\)/.test(e.message) &&
      /profiles\.base\.list\.0\.typo: unknown key/.test(e.message),
  );
  assert.deepEqual(resolveProfile(file, 'whole', schema).params, { list: [{ n: 1 }], b: 'there' });
});

test('canonical JSON is key-order independent and rejects values JSON cannot hold', () => {
  assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
  assert.equal(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
  // Keys sort as strings, integer-like ones too (an object would enumerate those numerically).
  assert.equal(canonicalJson({ 2: 'b', 10: 'a', x: 0, B: 1 }), '{"10":"a","2":"b","B":1,"x":0}');
  assert.throws(() => canonicalJson({ lr: Number.NaN }), /\$\.lr is NaN/);
  assert.throws(() => canonicalJson({ grid: [{ a: 1 }, { b: [2, Number.POSITIVE_INFINITY] }] }), /\$\.grid\[1\]\.b\[1\] is Infinity/);
  assert.throws(() => canonicalJson({ z: 1, a: { f: () => 1 } }), /\$\.a\.f has type function/);
});

test('canonical JSON equals JSON.stringify of the value with its keys sorted (random nested values)', () => {
  // Independent reference: rebuild every object with its keys inserted in sorted order and let
  // JSON.stringify write it (keys are non-numeric, so JSON.stringify keeps insertion order).
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const key = () => ['alpha', 'b', 'Beta', 'lr', 'x_1', 'é', 'a b', '"q"'][Math.floor(rand() * 8)]!;
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.3) return [0, -1.5, 1e-7, 3, 'text', 'üñî"\\', true, false, null][Math.floor(rand() * 9)];
    if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 5); i > 0; i--) o[key()] = rand() < 0.1 ? undefined : value(depth + 1);
    return o;
  };
  for (let i = 0; i < 300; i++) {
    const v = value(0);
    assert.equal(canonicalJson(v), JSON.stringify(sorted(v)));
  }
});

test('sweeps expand to readable, value-based ids', () => {
  const combos = combinations({ arch: ['resnet18', 'vgg16'], alpha: [0, 0.3] });
  assert.equal(combos.length, 4);
  assert.deepEqual(combos[1], { arch: 'resnet18', alpha: 0.3 });
  assert.equal(nodeId('train', [segment('arch', 'resnet18'), segment('alpha', 0.3), segment('aug', 'std')]), 'train@resnet18-alpha0.3-std');
  assert.equal(nodeId('fetch', []), 'fetch');
});

test('a stage code digest covers its transitive imports and package versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-src-'));
  try {
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'package.json'), '{}');
    writeFileSync(join(dir, 'stage.ts'), "import { f } from './lib/helper.ts';\nimport { z } from 'zod';\nexport const s = () => import('./lib/lazy.ts');\n");
    writeFileSync(join(dir, 'lib', 'helper.ts'), 'export const f = 1;\n');
    writeFileSync(join(dir, 'lib', 'lazy.ts'), 'export const g = 2;\n');
    const url = pathToFileURL(join(dir, 'stage.ts')).href;
    const a = sourceClosure(url, dir);
    assert.deepEqual(a.files, ['lib/helper.ts', 'lib/lazy.ts', 'stage.ts']);
    assert.deepEqual(a.packages, { zod: 'absent' });
    writeFileSync(join(dir, 'lib', 'lazy.ts'), 'export const g = 3;\n');
    assert.notEqual(sourceClosure(url, dir).digest, a.digest);
    writeFileSync(join(dir, 'lib', 'lazy.ts'), 'export const g = 2;\n');
    assert.equal(sourceClosure(url, dir).digest, a.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('closures sharing one memo are the closures taken one by one (every stage of the project)', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const extra = (files: readonly string[]) => project.extraCode?.(files) ?? [];
  const memo = newClosureMemo();
  const stages = [...new Set(project.stages.map((st) => st.module))];
  assert.ok(stages.length >= 8, `the project has its stages (${stages.length})`);
  for (const url of stages) {
    const shared = sourceClosure(url, root, extra, memo);
    const alone = sourceClosure(url, root, extra);
    assert.deepEqual(shared, alone, url);
  }
  assert.ok(memo.files.size > 0 && memo.extras.size > 0, 'the memo was used');
});

test('graph checks: dangling refs, wrong kinds, missing inputs, cycles', () => {
  assert.throws(
    () => checkGraph({ nodes: [{ id: 's', stage: scale, params: { factor: 1 }, inputs: { src: { node: 'nowhere', output: 'out' } } }], groups: {} }),
    /input 'src' refers to unknown node 'nowhere'/,
  );
  assert.throws(() => checkGraph({ nodes: [{ id: 's', stage: scale, params: { factor: 1 } }], groups: {} }), /required input 'src' is not connected/);
  assert.throws(
    () =>
      checkGraph({
        nodes: [
          { id: 'a', stage: scale, params: { factor: 1 }, inputs: { src: { node: 'b', output: 'out' } } },
          { id: 'b', stage: scale, params: { factor: 1 }, inputs: { src: { node: 'a', output: 'out' } } },
        ],
        groups: {},
      }),
    /dependency cycle: (a -> b -> a|b -> a -> b)/,
  );
  assert.throws(
    () =>
      checkGraph({
        nodes: [
          { id: 'g', stage: gen, params: { n: 1 } },
          { id: 's', stage: scale, params: { factor: 1 }, inputs: { src: { node: 'g', output: 'nope' } } },
        ],
        groups: {},
      }),
    /stage 'gen' has no such output/,
  );
  assert.throws(() => checkGraph({ nodes: [{ id: 'g', stage: gen, params: { n: 1 } }], groups: { all: ['x'] } }), /target 'all' lists unknown node 'x'/);
});

test('targets resolve as groups, node ids and stage names, each node once, in graph order', () => {
  const nodes = [
    { id: 'g1', stage: gen, params: { n: 1 } },
    { id: 'g2', stage: gen, params: { n: 2 } },
    ...Array.from({ length: 3 }, (_, i) => ({ id: `s${i}`, stage: scale, params: { factor: i }, inputs: { src: { node: `g${1 + (i % 2)}`, output: 'out' } } })),
  ];
  const g = checkGraph({ nodes, groups: { odd: ['s1', 'g1'] } });
  assert.deepEqual(resolveTargets(g, ['scale']), ['s0', 's1', 's2']);
  assert.deepEqual(resolveTargets(g, ['gen', 'odd', 's2']), ['g1', 'g2', 's1', 's2']);
  assert.throws(() => resolveTargets(g, ['scal']), /unknown target 'scal'/);
});
