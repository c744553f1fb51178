import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../ml/random.ts';

test('same seed gives the same stream; restored state continues it exactly', () => {
  const a = new Rng(42),
    b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  const saved = a.state();
  const next = [a.float(), a.normal(), a.int(7)];
  const c = new Rng(saved);
  assert.deepEqual([c.float(), c.normal(), c.int(7)], next);
});

test('uniform floats have mean 1/2 and variance 1/12; normals mean 0 and variance 1', () => {
  const r = new Rng(7);
  const n = 200_000;
  let s = 0,
    s2 = 0,
    g = 0,
    g2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.float();
    s += u;
    s2 += u * u;
    const z = r.normal();
    g += z;
    g2 += z * z;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 0.003);
  assert.ok(Math.abs(g / n) < 0.01);
  assert.ok(Math.abs(g2 / n - 1) < 0.02);
});

test('int(n) is unbiased across buckets and permutation is a permutation', () => {
  const r = new Rng(3);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.int(10)]!++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket count ${c}`);
  const p = Array.from(r.permutation(1000)).sort((x, y) => x - y);
  assert.deepEqual(
    p,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

test('derived streams differ by label and are reproducible', () => {
  assert.equal(Rng.derive(1, 'aug').nextU32(), Rng.derive(1, 'aug').nextU32());
  assert.notEqual(Rng.derive(1, 'aug').nextU32(), Rng.derive(1, 'init').nextU32());
  assert.throws(() => new Rng(1.5), /integer/);
});
