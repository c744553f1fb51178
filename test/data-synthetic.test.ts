import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { augmentBatch, STD } from '../ml/augment/standard.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import {
  argmax,
  generateSyntheticSplit,
  nonRobustEnergy,
  nonRobustScores,
  renderRobust,
  renderSyntheticImage,
  robustClassesFromMeta,
  robustScores,
  swapNonRobust,
  syntheticBank,
  syntheticBankFromMeta,
  writeSynthetic,
} from '../ml/data/synthetic.ts';

/** The demo profile's smallest L2 attack budget (SPEC.md: ε in {0.25, 0.5}). */
const DEMO_EPSILON = 0.25;
const bank = syntheticBank({ seed: 5, trainCount: 0, testCount: 300 });
const data = generateSyntheticSplit(bank, 'test');
const per = 32 * 32 * 3;
const image = (i: number) => data.pixels.subarray(i * per, (i + 1) * per);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

test('the non-robust patterns are orthogonal, of the set norm, and invisible per pixel', () => {
  for (let j = 0; j < 10; j++) {
    assert.ok(Math.abs(Math.sqrt(dot(bank.nonRobust[j]!, bank.nonRobust[j]!)) - 0.15) < 1e-5);
    for (let k = j + 1; k < 10; k++) assert.ok(Math.abs(dot(bank.nonRobust[j]!, bank.nonRobust[k]!)) < 1e-6, `p${j}.p${k}`);
    // About 0.7/255 per value (rms), 2.5/255 at most: invisible.
    const p = bank.nonRobust[j]!;
    assert.ok(Math.sqrt(dot(p, p) / p.length) < 1 / 255);
    assert.ok(p.every((v) => Math.abs(v) < 3 / 255));
  }
});

test('ground truth: a linear classifier on the non-robust pattern alone predicts the label', () => {
  let correct = 0;
  for (let i = 0; i < data.labels.length; i++) if (argmax(nonRobustScores(bank, image(i))) === data.labels[i]) correct++;
  assert.equal(correct, data.labels.length);
});

test('ground truth: an L2 perturbation below the demo epsilon flips the pattern to another class', () => {
  for (let i = 0; i < data.labels.length; i++) {
    const x = image(i);
    const y = data.labels[i]!;
    const t = (y + 1 + (i % 9)) % 10;
    const z = swapNonRobust(bank, x, y, t);
    let d2 = 0;
    for (let k = 0; k < per; k++) d2 += (z[k]! - x[k]!) ** 2;
    const norm = Math.sqrt(d2);
    assert.ok(norm < DEMO_EPSILON, `perturbation norm ${norm}`);
    assert.ok(Math.abs(norm - Math.SQRT2 * 0.15) < 1e-4, 'no clipping: the swap is exact');
    assert.equal(argmax(nonRobustScores(bank, z)), t);
    // The robust evidence does not move.
    assert.equal(argmax(robustScores(bank, z)), argmax(robustScores(bank, x)));
  }
});

test('the robust feature is learnable and survives small shifts and rotations', () => {
  let shown = 0;
  let sameAsLabel = 0;
  for (let i = 0; i < data.labels.length; i++) {
    if (argmax(robustScores(bank, image(i))) === data.robustClass[i]) shown++;
    if (data.robustClass[i] === data.labels[i]) sameAsLabel++;
  }
  // A fixed template matcher already finds the robust class shown in most images (shifts,
  // rotations, distractors and background notwithstanding); robustReliability 0.9 of them show the label's.
  assert.ok(shown / data.labels.length > 0.85, `template accuracy ${shown / data.labels.length}`);
  assert.ok(Math.abs(sameAsLabel / data.labels.length - 0.9) < 0.06, `reliability ${sameAsLabel / data.labels.length}`);
  for (let k = 0; k < 10; k++) {
    const moved = renderRobust(bank, k, { dx: 3, dy: -3, angleDeg: 10, scale: 1 });
    const centred = moved.map((v) => v + 0.5);
    assert.equal(argmax(robustScores(bank, centred)), k, `class ${k} moved by 3 px and 10 degrees`);
  }
  // Its L2 size dwarfs the attack budget.
  const tpl = renderRobust(bank, 0, { dx: 0, dy: 0, angleDeg: 0, scale: 1 });
  assert.ok(Math.sqrt(dot(tpl, tpl)) > 10 * DEMO_EPSILON);
});

test('the non-robust feature survives std augmentation (phase-invariant energy)', () => {
  const n = 150;
  const aug = augmentBatch(data.pixels.subarray(0, n * per), { n, height: 32, width: 32, channels: 3 }, STD, 3, 0).x;
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmax(nonRobustEnergy(bank, aug.subarray(i * per, (i + 1) * per))) === data.labels[i]) correct++;
  assert.ok(correct / n > 0.9, `energy accuracy after std ${correct / n}`);
});

test('deterministic from (params, split, index); files carry params and robust classes', () => {
  const again = syntheticBank({ seed: 5, trainCount: 0, testCount: 300 });
  const out = new Float32Array(per);
  renderSyntheticImage(again, 'test', 17, data.labels[17]!, out);
  assert.deepEqual(out, image(17));
  const other = generateSyntheticSplit(syntheticBank({ seed: 6, trainCount: 0, testCount: 3 }), 'test');
  assert.notDeepEqual(other.pixels, data.pixels.subarray(0, 3 * per));
  const dir = mkdtempSync(join(tmpdir(), 'rf-syn-'));
  try {
    const paths = { trainPath: join(dir, 'train.rfds'), testPath: join(dir, 'test.rfds') };
    writeSynthetic({ seed: 5, trainCount: 40, testCount: 300 }, paths);
    const test = openDataset(paths.testPath);
    assert.deepEqual(test.pixels, data.pixels);
    assert.deepEqual(robustClassesFromMeta(test.meta), data.robustClass);
    assert.deepEqual(syntheticBankFromMeta(test.meta).nonRobust, bank.nonRobust);
    const train = openDataset(paths.trainPath);
    const counts = new Array(10).fill(0);
    for (const y of train.labels) counts[y]++;
    assert.deepEqual(counts, new Array(10).fill(4));
    assert.equal((train.meta.params as { nonRobustNorm: number }).nonRobustNorm, 0.15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => syntheticBank({ nonRobustBand: [6, 16] }), /nonRobustBand \[6, 16\] must be whole frequencies/);
  assert.throws(() => syntheticBank({ robustReliability: 2 }), /robustReliability must lie in \[0, 1\], got 2/);
});
