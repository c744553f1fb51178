import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACK_PRESETS, attackPreset, describeAttack, parseAttackConfig } from '../ml/attacks/config.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { summariseAttack } from '../ml/attacks/metrics.ts';
import { selectSubset } from '../ml/attacks/subset.ts';
import { Rng } from '../ml/random.ts';
import { ArrayImageSet, LinearClassifier, brightnessClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

test('summariseAttack on a crafted batch matches the hand count', () => {
  // i:        0  1  2  3  4  5  6  7
  const y = [0, 0, 0, 1, 1, 1, 2, 2];
  const nat = [1, 1, 0, 1, 1, 0, 0, 0];
  const rob = [1, 0, 1, 0, 0, 0, 0, 0]; // example 2: wrong untouched, right after the attack
  const s = summariseAttack(y, nat, rob, 3);
  assert.equal(s.count, 8);
  assert.equal(s.naturalAccuracy, 4 / 8);
  assert.equal(s.robustAccuracy, 2 / 8);
  assert.equal(s.fooled, 3); // examples 1, 3, 4
  assert.equal(s.asr, 3 / 4);
  assert.deepEqual(
    s.perClass.map((c) => [c.label, c.count, c.naturalAccuracy, c.robustAccuracy, c.asr]),
    [
      [0, 3, 2 / 3, 2 / 3, 1 / 2],
      [1, 3, 2 / 3, 0, 1],
      [2, 2, 0, 0, null], // nothing right untouched: ASR undefined
    ],
  );
  assert.throws(() => summariseAttack([0, 3], [1, 1], [1, 1], 3), /label 3 of example 1/);
});

const H = 8,
  W = 8,
  C = 3,
  S = H * W * C;

test('grid evaluation of a crafted batch: natural accuracy, robust accuracy, ASR and per class by hand', async () => {
  const white = new Array<number>(S).fill(1);
  const blob = new Array<number>(S).fill(0.05);
  for (let y = 3; y < 5; y++) for (let x = 3; x < 5; x++) for (let c = 0; c < C; c++) blob[(y * W + x) * C + c] = 1;
  const dark = new Array<number>(S).fill(0.2);
  // (image, label): white/1 right then fooled; blob/0 robust; white/0 wrong; dark/0 robust; dark/1 wrong.
  const set = new ArrayImageSet(new Float32Array([...white, ...blob, ...white, ...dark, ...dark]), new Uint8Array([1, 0, 0, 0, 1]), H, W, C, 2);
  const r = await evaluateAttack(brightnessClassifier(), set, attackPreset('rot10'), { batchSize: 2 });
  assert.equal(r.naturalAccuracy, 3 / 5);
  assert.equal(r.robustAccuracy, 2 / 5);
  assert.equal(r.asr, 1 / 3);
  assert.deepEqual([...r.naturalCorrectMask], [1, 1, 0, 1, 0]);
  assert.deepEqual([...r.robustCorrectMask], [0, 1, 0, 1, 0]);
  assert.deepEqual(
    r.perClass.map((c) => [c.naturalAccuracy, c.robustAccuracy, c.asr]),
    [
      [2 / 3, 2 / 3, 0],
      [1 / 2, 0, 1],
    ],
  );
  const none = await evaluateAttack(brightnessClassifier(), set, { kind: 'none' });
  assert.equal(none.robustAccuracy, 3 / 5);
  assert.equal(none.asr, 0);
});

test('L2-PGD evaluation of a linear model matches the closed form: flipped iff margin < eps ||w_y - w_other||', async () => {
  const rng = new Rng(31);
  const w = rng.fillNormal(new Float32Array(S * 2), 0, 0.05);
  // Bias centring the decision boundary on the grey image, and images spread along w_0 - w_1 so
  // that margins straddle eps ||w_0 - w_1||.
  const bias = new Float32Array(2);
  const u = new Float64Array(S);
  for (let j = 0; j < S; j++) {
    bias[0]! -= 0.5 * w[j * 2]!;
    bias[1]! -= 0.5 * w[j * 2 + 1]!;
    u[j] = w[j * 2]! - w[j * 2 + 1]!;
  }
  const un = Math.hypot(...u);
  const model = new LinearClassifier(2, w, bias);
  const n = 40;
  const images = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    const along = rng.uniform(-0.6, 0.6);
    for (let j = 0; j < S; j++) images[i * S + j] = 0.5 + (along * u[j]!) / un + rng.uniform(-0.05, 0.05);
  }
  const labels = Uint8Array.from({ length: n }, () => rng.int(2));
  const set = new ArrayImageSet(images, labels, H, W, C, 2);
  const eps = 0.25;
  let dn = 0;
  for (let j = 0; j < S; j++) dn += (w[j * 2]! - w[j * 2 + 1]!) ** 2;
  dn = Math.sqrt(dn);
  const nat: number[] = [],
    rob: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    let m = bias[y]! - bias[1 - y]!; // logit of y minus the other
    for (let j = 0; j < S; j++) m += images[i * S + j]! * (w[j * 2 + y]! - w[j * 2 + 1 - y]!);
    assert.ok(Math.abs(m) > 1e-3 && Math.abs(m - eps * dn) > 1e-3, 'no borderline example');
    nat.push(m > 0 ? 1 : 0);
    rob.push(m - eps * dn > 0 ? 1 : 0);
  }
  const want = summariseAttack(labels, nat, rob, 2);
  assert.ok(want.fooled > 3 && want.robustCorrect > 3, `the batch needs flipped and surviving examples (${want.fooled}, ${want.robustCorrect})`);
  const r = await evaluateAttack(model, set, attackPreset('l2-0.25'), { batchSize: 16 });
  assert.deepEqual([...r.naturalCorrectMask], nat);
  assert.deepEqual([...r.robustCorrectMask], rob);
  assert.equal(r.asr, want.asr);
  assert.ok(Math.abs(r.meanPerturbationL2! - eps) < 1e-5, `mean perturbation ${r.meanPerturbationL2}`);
  // A subset evaluates only those examples.
  const sub = selectSubset(n, 10, 3);
  const rs = await evaluateAttack(model, set, attackPreset('l2-0.25'), { indices: sub });
  assert.equal(rs.count, 10);
  assert.deepEqual(
    [...rs.robustCorrectMask],
    [...sub].map((i) => rob[i]),
  );
  model.dispose();
});

test('selectSubset: all when no count, otherwise a seeded, sorted sample without repeats', () => {
  assert.deepEqual([...selectSubset(5)], [0, 1, 2, 3, 4]);
  assert.deepEqual([...selectSubset(5, 9)], [0, 1, 2, 3, 4]);
  const a = selectSubset(1000, 50, 7);
  assert.equal(a.length, 50);
  assert.equal(new Set(a).size, 50);
  assert.deepEqual(
    [...a],
    [...a].sort((x, y) => x - y),
  );
  assert.deepEqual(a, selectSubset(1000, 50, 7));
  assert.notDeepEqual(a, selectSubset(1000, 50, 8));
});

test('attack presets carry the paper values; bad configs are rejected naming the field', () => {
  for (const [eps, name] of [
    [0.25, 'l2-0.25'],
    [0.5, 'l2-0.5'],
  ] as const) {
    assert.deepEqual(attackPreset(name), { kind: 'pgd', norm: 'l2', eps, step: 0.1, iterations: 100, randomStart: false, target: 'none' });
  }
  for (const k of [1, 2, 4, 8]) {
    const p = attackPreset(`linf-${k}`);
    assert.ok(p.kind === 'pgd' && p.norm === 'linf' && p.eps === k / 255 && p.step === k / 255 / 4 && p.iterations === 7 && !p.randomStart);
    const q = attackPreset(`linf-${k}-rs`);
    assert.ok(q.kind === 'pgd' && q.randomStart);
  }
  for (const p of Object.values(ATTACK_PRESETS)) assert.deepEqual(parseAttackConfig(p), p);
  assert.equal(describeAttack(attackPreset('linf-8')), 'Linf-PGD eps=8/255 (7x0.007843)');
  assert.deepEqual(parseAttackConfig({ kind: 'pgd', norm: 'l2', eps: 0.5, step: 0.1, iterations: 3 }).kind, 'pgd');
  assert.throws(
    () => parseAttackConfig({ kind: 'pgd', norm: 'l3', eps: 0.5, step: 0.1, iterations: 3 }, 'params.yaml attacks[2]'),
    /params.yaml attacks\[2\].*norm/,
  );
  assert.throws(() => parseAttackConfig({ kind: 'grid', grid: 'grid999' }), /grid/);
  assert.throws(() => attackPreset('l2-9'), /unknown attack preset 'l2-9'/);
});
