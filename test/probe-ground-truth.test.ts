// The ground-truth probes (ml/probe/) against models and sets whose answers are known by
// construction: linear models that read one planted feature only, and D_R / D_NR stand-ins built
// with swapNonRobust.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { generateSyntheticSplit, swapNonRobust, syntheticBank, type SyntheticBank } from '../ml/data/synthetic.ts';
import { featureReliance } from '../ml/probe/reliance.ts';
import { dnrQuality, drQuality, readFeatures, readoutAccuracy } from '../ml/probe/built-set-quality.ts';
import { ArrayImageSet, useCpu } from './attacks-helpers.ts';
import { linearFromColumns, robustTemplates } from './helpers/synthetic-readers.ts';
import { Rng } from '../ml/random.ts';

before(useCpu);

const S = 32 * 32 * 3;
const K = 10;

function split(bank: SyntheticBank, which: 'train' | 'test') {
  const d = generateSyntheticSplit(bank, which);
  return { set: new ArrayImageSet(d.pixels, d.labels, 32, 32, 3, K), robustClass: d.robustClass };
}

test('a linear model on the non-robust patterns alone follows the non-robust feature ~100 %', async () => {
  const bank = syntheticBank({ seed: 3, trainCount: 0, testCount: 300 });
  const { set, robustClass } = split(bank, 'test');
  const model = linearFromColumns(bank.nonRobust.map((p) => p.map((v) => v / bank.params.nonRobustNorm ** 2)));
  const before = tf.memory().numTensors;
  const r = await featureReliance(model, set, { bank, robustClass }, { seed: 1, batchSize: 64 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  model.dispose();
  assert.equal(r.count, 300);
  assert.ok(r.naturalAccuracy > 0.99, `natural ${r.naturalAccuracy}`);
  assert.ok(r.conflict.followsNonRobust > 0.99, `conflict follows non-robust ${r.conflict.followsNonRobust}`);
  assert.ok(r.conflict.followsRobust < 0.01);
  assert.ok(r.nonRobustOnly.count > 10 && r.nonRobustOnly.accuracy > 0.99, `non-robust only ${JSON.stringify(r.nonRobustOnly)}`);
  assert.ok(r.robustOnly.accuracy < 0.3, `robust only ${r.robustOnly.accuracy}: p_y is gone, nothing is left to read`);
  const c = r.conflict;
  assert.ok(Math.abs(c.followsRobust + c.followsNonRobust + c.neither - 1) < 1e-12);
  // Conflict images are the ones showing their label's robust pattern.
  assert.equal(c.count, Array.from(robustClass).filter((k, i) => k === set.labels[i]).length);
});

test('a linear model on the robust templates alone follows the robust feature ~100 %', async () => {
  const bank = syntheticBank({ seed: 3, trainCount: 0, testCount: 300 });
  const { set, robustClass } = split(bank, 'test');
  const model = linearFromColumns(robustTemplates(bank));
  const r = await featureReliance(model, set, { bank, robustClass }, { seed: 1, batchSize: 64 });
  model.dispose();
  assert.ok(r.conflict.followsRobust > 0.9, `conflict follows robust ${r.conflict.followsRobust}`);
  assert.ok(r.conflict.followsNonRobust < 0.05);
  assert.ok(r.robustOnly.accuracy > 0.9, `robust only ${r.robustOnly.accuracy}`);
  // On images showing another class's robust pattern it reads that class, not the label.
  assert.ok(r.nonRobustOnly.accuracy < 0.1 && r.nonRobustOnly.followsRobust > 0.85, JSON.stringify(r.nonRobustOnly));
});

// A set on which the robust readout is exact (every image shows its own class, no distractor or
// motion), so a set built from it with swapNonRobust has known answers to the last image.
const CLEAN = { seed: 5, trainCount: 200, testCount: 0, robustReliability: 1, distractor: 0, robustShift: 0, robustRotationDeg: 0 } as const;

test('D_R quality scores an ideal D_R built with swapNonRobust exactly', () => {
  const bank = syntheticBank(CLEAN);
  const base = split(bank, 'train');
  assert.deepEqual(readoutAccuracy(readFeatures(bank, base.set), base.set.labels, base.robustClass), { robust: 1, nonRobust: 1 });
  // Image i: base example b_i's robust pattern and label, the non-robust pattern of start image s_i.
  const rng = new Rng(9);
  const n = 120;
  const bases = Int32Array.from({ length: n }, () => rng.int(base.set.count));
  const sources = Int32Array.from({ length: n }, () => rng.int(base.set.count));
  const images = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    const b = bases[i]!;
    const x = base.set.gather([b]);
    images.set(swapNonRobust(bank, x, base.set.labels[b]!, base.set.labels[sources[i]!]!), i * S);
  }
  const dr = new ArrayImageSet(
    images,
    Uint8Array.from(bases, (b) => base.set.labels[b]!),
    32,
    32,
    3,
    K,
  );
  const r = drQuality(bank, dr, base.set, base.robustClass, { baseIndices: bases, sourceIndices: sources });
  const same = Array.from(bases).filter((b, i) => base.set.labels[b] === base.set.labels[sources[i]!]).length / n;
  assert.equal(r.quality.count, n);
  assert.equal(r.quality.robustIsLabel, 1);
  assert.equal(r.quality.nonRobustIsSource, 1);
  assert.equal(r.quality.labelIsSource, same);
  assert.equal(r.quality.nonRobustIsLabel, same);
  assert.ok(Math.abs(r.quality.meanNonRobustScoreSource - 1) < 0.05, `s_source ${r.quality.meanNonRobustScoreSource}`);
  assert.deepEqual(r.readout, { robust: 1, nonRobust: 1 });

  // The untouched base images as a "D_R": the non-robust pattern is the label's, not the source's.
  const lazy = new ArrayImageSet(base.set.gather(bases), dr.labels, 32, 32, 3, K);
  const l = drQuality(bank, lazy, base.set, base.robustClass, { baseIndices: bases, sourceIndices: sources });
  assert.equal(l.quality.nonRobustIsLabel, 1);
  assert.equal(l.quality.nonRobustIsSource, same);
  assert.throws(() => drQuality(bank, dr, base.set, base.robustClass, { baseIndices: sources, sourceIndices: bases }), /do not belong to this set/);
});

test('D_NR quality scores a D_det built with swapNonRobust exactly', () => {
  const bank = syntheticBank(CLEAN);
  const base = split(bank, 'train');
  const bases = Int32Array.from({ length: 80 }, (_, i) => 2 * i);
  const targets = Uint8Array.from(bases, (b) => (base.set.labels[b]! + 1) % K);
  const images = new Float32Array(bases.length * S);
  bases.forEach((b, i) => images.set(swapNonRobust(bank, base.set.gather([b]), base.set.labels[b]!, targets[i]!), i * S));
  const dnr = new ArrayImageSet(images, targets, 32, 32, 3, K);
  const r = dnrQuality(bank, dnr, base.set, base.robustClass, bases, 'D_det');
  assert.equal(r.quality.robustIsSource, 1);
  assert.equal(r.quality.robustIsLabel, 0);
  assert.equal(r.quality.nonRobustIsLabel, 1);
  assert.equal(r.quality.nonRobustIsSource, 0);
  assert.ok(Math.abs(r.quality.meanNonRobustScoreLabel - 1) < 0.05 && Math.abs(r.quality.meanNonRobustScoreSource) < 0.05);
});
