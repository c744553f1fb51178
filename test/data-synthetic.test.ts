import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { augmentBatch, STD } from '../ml/augment/standard.ts';
import { openDataset } from '../ml/data/dataset-file.ts';
import {
  argmax,
  generateSyntheticSplit,
  motifEvidence,
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

/** The demo profile's smallest L2 attack budget (docs/method/pgd-and-grids.md#l2: ε in {0.25, 0.5}). */
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

// ---- the demo's faithful world (nonRobustKind 'tint') and the motif kind ----

const tint = syntheticBank({ seed: 5, trainCount: 0, testCount: 200, nonRobustKind: 'tint', nonRobustNorm: 0.35 });
const tintData = generateSyntheticSplit(tint, 'test');

test('tint: ten exactly orthogonal patterns of the set norm, orthogonal to every grey image, faint per pixel', () => {
  for (let j = 0; j < 10; j++) {
    const p = tint.nonRobust[j]!;
    assert.ok(Math.abs(Math.sqrt(dot(p, p)) - 0.35) < 1e-5);
    for (let k = j + 1; k < 10; k++) assert.ok(Math.abs(dot(p, tint.nonRobust[k]!)) < 1e-6, `p${j}.p${k}`);
    // Every pixel's three values sum to zero (chroma only): a grey image projects to 0.
    for (let i = 0; i < p.length; i += 3) assert.ok(Math.abs(p[i]! + p[i + 1]! + p[i + 2]!) < 1e-6);
    assert.ok(
      p.every((v) => Math.abs(v) < 8 / 255),
      'under 8/255 per value',
    );
    // Mirror symmetric: a horizontal flip maps it onto itself.
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(p[(y * 32 + x) * 3 + c]! - p[(y * 32 + 31 - x) * 3 + c]!) < 1e-6);
  }
  // Swapping p_y for p_t is an L2 change of √2·0.35 ≈ 0.49, inside the demo's ε = 0.5.
  const z = swapNonRobust(tint, tintData.pixels.subarray(0, per), tintData.labels[0]!, (tintData.labels[0]! + 1) % 10);
  let d2 = 0;
  for (let i = 0; i < per; i++) d2 += (z[i]! - tintData.pixels[i]!) ** 2;
  assert.ok(Math.abs(Math.sqrt(d2) - Math.SQRT2 * 0.35) < 1e-4);
  // Everything but the tint is grey: each pixel's chroma is the tint's plus noise.
  const robust = renderRobust(tint, 3, { dx: 0, dy: 0, angleDeg: 0, scale: 1 });
  for (let i = 0; i < robust.length; i += 3) assert.ok(robust[i] === robust[i + 1] && robust[i] === robust[i + 2]);
});

test('tint: a fixed linear read-out finds the class in images after std augmentation (shifts, flips, jitter)', () => {
  const n = 200;
  let clean = 0;
  for (let i = 0; i < n; i++) if (argmax(nonRobustScores(tint, tintData.pixels.subarray(i * per, (i + 1) * per))) === tintData.labels[i]) clean++;
  assert.equal(clean, n);
  const aug = augmentBatch(tintData.pixels, { n, height: 32, width: 32, channels: 3 }, STD, 3, 0).x;
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmax(nonRobustScores(tint, aug.subarray(i * per, (i + 1) * per))) === tintData.labels[i]) correct++;
  // The fixed-phase grating's linear read-out falls to chance here (the test above needs its energy).
  assert.ok(correct / n > 0.8, `linear accuracy after std ${correct / n}`);
  let grating = 0;
  const aug0 = augmentBatch(data.pixels.subarray(0, n * per), { n, height: 32, width: 32, channels: 3 }, STD, 3, 0).x;
  for (let i = 0; i < n; i++) if (argmax(nonRobustScores(bank, aug0.subarray(i * per, (i + 1) * per))) === data.labels[i]) grating++;
  assert.ok(grating / n < 0.3, `grating linear accuracy after std ${grating / n}`);
});

test('tint and motif: deterministic from the seed, and the grating world is untouched by the new kinds', () => {
  const again = syntheticBank({ seed: 5, trainCount: 0, testCount: 200, nonRobustKind: 'tint', nonRobustNorm: 0.35 });
  assert.deepEqual(again.nonRobust, tint.nonRobust);
  const out = new Float32Array(per);
  renderSyntheticImage(again, 'test', 11, tintData.labels[11]!, out);
  assert.deepEqual(out, tintData.pixels.subarray(11 * per, 12 * per));
  assert.notDeepEqual(syntheticBank({ seed: 6, nonRobustKind: 'tint' }).nonRobust, syntheticBank({ seed: 5, nonRobustKind: 'tint' }).nonRobust);
  // The control world (demo-control, the defaults) is byte for byte the generator's output from
  // before the new kinds existed: SHA-256 of these 50 images as that code made them.
  const control = generateSyntheticSplit(syntheticBank({ seed: 5, trainCount: 0, testCount: 50 }), 'test');
  assert.equal(
    createHash('sha256').update(Buffer.from(control.pixels.buffer)).digest('hex'),
    '463d54681648b98f80c2b870491fb9b106c551594e68015bee96067089d3ae04',
  );
  assert.throws(() => syntheticBank({ nonRobustKind: 'tint', channels: 1 }), /'tint' needs 3 channels/);
  assert.throws(() => syntheticBank({ nonRobustKind: 'wave' as never }), /nonRobustKind must be 'grating', 'motif' or 'tint'/);
});

test('motif: orthogonal, of the set norm, mirror symmetric, and found after std augmentation by a shift-invariant matched filter', () => {
  const m = syntheticBank({ seed: 5, trainCount: 0, testCount: 150, nonRobustKind: 'motif', motifSize: 6 });
  for (let j = 0; j < 10; j++) {
    const p = m.nonRobust[j]!;
    assert.ok(Math.abs(Math.sqrt(dot(p, p)) - 0.15) < 1e-5);
    for (let k = j + 1; k < 10; k++) assert.ok(Math.abs(dot(p, m.nonRobust[k]!)) < 1e-6);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(p[(y * 32 + x) * 3 + c]! - p[(y * 32 + 31 - x) * 3 + c]!) < 1e-6);
  }
  const d = generateSyntheticSplit(m, 'test');
  const aug = augmentBatch(d.pixels, { n: 150, height: 32, width: 32, channels: 3 }, STD, 3, 0).x;
  let correct = 0;
  for (let i = 0; i < 150; i++) if (argmax(motifEvidence(m, aug.subarray(i * per, (i + 1) * per))) === d.labels[i]) correct++;
  assert.ok(correct / 150 > 0.9, `motif evidence after std ${correct / 150}`);
});
