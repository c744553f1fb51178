import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { pgdBatch } from '../ml/attacks/pgd.ts';
import { buildRobustDataset } from '../ml/robust/build-dr.ts';
import { ArrayImageSet, TinyMlp, accuracyOn, adversarialTrain, plantedData, trainClassifier, useNativeOrCpu } from './attacks-helpers.ts';

before(useNativeOrCpu);

// The planted set here is the test helper's minimal one (8x8, 4 classes), not ml/data/synthetic.ts:
// that set (32x32 blobs and high-frequency gratings of norm 0.15) is made for the pipeline's conv
// nets; a tiny MLP trained in seconds on it learns the robust blobs and ignores the gratings
// (measured: 4.5 % of swapped test images followed the non-robust pattern, after 7 minutes of
// cpu time), so it could not show what the construction is for. The end-to-end check on that set
// belongs to the pipeline once ml/train and ml/models exist.
const P = 5; // pattern seed shared by every split
const S = 8 * 8 * 3;

test('a model trained on the built D_R relies far less on the planted non-robust pattern than one trained on D', async () => {
  const slow = process.env.RF_SLOW_TESTS === '1';
  const train = plantedData(P, 1, slow ? 2048 : 512, { robustFlip: 0.2 }).set;
  const swapped = plantedData(P, 2, 200, { nonRobustShift: 1 }); // robust pattern of y, non-robust of y+1
  const nrOnly = plantedData(P, 3, 200, { noRobust: true }); // only the non-robust pattern of y
  const clean = plantedData(P, 4, 200); // both patterns of y
  const trainSteps = slow ? 800 : 250;
  const shape: [number, number, number] = [8, 8, 3];
  const acc = (m: TinyMlp, s: ArrayImageSet) => accuracyOn(m, s.images, s.labels, shape);

  // Standard model on D.
  const standard = new TinyMlp(4, S, 10);
  trainClassifier(standard, train, { steps: trainSteps, batchSize: 64, lr: 0.01, seed: 11 });

  // Robust model f_A: L2-PGD adversarial training at eps 0.5 (the paper's: 7 steps of 0.1; the quick
  // version takes 4 steps of 0.2 and fewer, larger training steps to stay fast).
  const robust = new TinyMlp(4, S, 12);
  const [advSteps, advLr, pgdIterations, pgdStep] = slow ? [400, 0.02, 7, 0.1] : [120, 0.02, 4, 0.2];
  adversarialTrain(robust, train, { steps: advSteps, batchSize: 64, lr: advLr, seed: 13 }, (x, y) => {
    const r = pgdBatch(robust, x, y, { norm: 'l2', eps: 0.5, step: pgdStep, iterations: pgdIterations });
    r.loss.dispose();
    return r.adversarial;
  });

  // D_R from f_A, then a standard model trained on it.
  const dr = await buildRobustDataset(robust, train, { steps: slow ? 300 : 60, stepSize: 0.1, seed: 14, batchSize: 512 });
  const drSet = new ArrayImageSet(dr.images, dr.labels, 8, 8, 3, 4);
  const onDr = new TinyMlp(4, S, 15);
  trainClassifier(onDr, drSet, { steps: trainSteps, batchSize: 64, lr: 0.01, seed: 16 });

  const report = {
    drDistance: [dr.metrics.meanInitialDistance, dr.metrics.meanDistance],
    clean: { D: acc(standard, clean.set), fA: acc(robust, clean.set), DR: acc(onDr, clean.set) },
    swapped: { D: acc(standard, swapped.set), fA: acc(robust, swapped.set), DR: acc(onDr, swapped.set) },
    nonRobustOnly: { D: acc(standard, nrOnly.set), fA: acc(robust, nrOnly.set), DR: acc(onDr, nrOnly.set) },
  };
  console.log(JSON.stringify(report));
  // The construction's point: on images whose non-robust pattern says another class, the D_R model
  // follows the robust pattern and the D model does not; the non-robust pattern alone tells the D
  // model the class but not the D_R model.
  assert.ok(report.clean.D > 0.9 && report.clean.DR > 0.8, 'both models learnt the task');
  assert.ok(dr.metrics.meanDistance < 0.5 * dr.metrics.meanInitialDistance, 'the inversion matched representations');
  assert.ok(report.swapped.DR > report.swapped.D + 0.3, `swapped-pattern accuracy D_R ${report.swapped.DR} vs D ${report.swapped.D}`);
  assert.ok(report.nonRobustOnly.D > report.nonRobustOnly.DR + 0.3, `non-robust-only accuracy D ${report.nonRobustOnly.D} vs D_R ${report.nonRobustOnly.DR}`);
  for (const m of [standard, robust, onDr]) m.dispose();
});
