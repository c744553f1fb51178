// Learning-rate schedules (as the paper's runs use them) and the Q1 snapshot schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, snapshotSteps, validateSchedule } from '../ml/train/schedule.ts';
import { stepsForEpochs } from '../ml/train/trainer.ts';

test('Q1: lr 0.1, divided by 10 after 40,000 and 60,000 iterations', () => {
  const s = { kind: 'milestones', lr: 0.1, milestones: [40_000, 60_000], factor: 0.1 } as const;
  const at = (step: number) => learningRate(s, step, 782);
  assert.equal(at(0), 0.1);
  assert.equal(at(39_999), 0.1);
  assert.ok(Math.abs(at(40_000) - 0.01) < 1e-15);
  assert.ok(Math.abs(at(59_999) - 0.01) < 1e-15);
  assert.ok(Math.abs(at(60_000) - 0.001) < 1e-15);
  assert.ok(Math.abs(at(78_199) - 0.001) < 1e-15);
});

test('Q2/Q3: lr divided by 10 every 50 epochs (epoch = steps per epoch updates)', () => {
  const s = { kind: 'every-epochs', lr: 0.1, everyEpochs: 50, factor: 0.1 } as const;
  const spe = stepsForEpochs({ examplesPerEpoch: 50_000, batchSize: 128 }, 1);
  assert.equal(spe, 391);
  assert.equal(learningRate(s, 50 * spe - 1, spe), 0.1);
  assert.ok(Math.abs(learningRate(s, 50 * spe, spe) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRate(s, 100 * spe, spe) - 0.001) < 1e-15);
  assert.ok(Math.abs(learningRate(s, 150 * spe - 1, spe) - 0.001) < 1e-15);
  assert.equal(learningRate({ kind: 'constant', lr: 0.01 }, 123, spe), 0.01);
});

test('Q1 snapshots: every 625 steps in the first 4 epochs, then every 4 epochs, the end included', () => {
  const spe = stepsForEpochs({ examplesPerEpoch: 50_000, batchSize: 64 }, 1);
  assert.equal(spe, 782);
  const steps = snapshotSteps(spe, 100);
  assert.deepEqual(steps.slice(0, 7), [625, 1250, 1875, 2500, 3125, 4 * spe, 8 * spe]);
  assert.equal(steps.at(-1), 100 * spe);
  assert.equal(steps.length, 5 + 25);
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i]! > steps[i - 1]!);
  // A short (demo) run keeps the same rule and always ends with the final weights.
  assert.deepEqual(snapshotSteps(10, 6, { denseEvery: 4, denseEpochs: 2, sparseEveryEpochs: 2 }), [4, 8, 12, 16, 20, 40, 60]);
  assert.deepEqual(snapshotSteps(10, 3, { denseEvery: 4, denseEpochs: 2, sparseEveryEpochs: 2 }), [4, 8, 12, 16, 20, 30]);
});

test('invalid schedules are rejected', () => {
  assert.throws(() => validateSchedule({ kind: 'constant', lr: 0 }, 'q1'), /q1: lr must be a positive number/);
  assert.throws(() => validateSchedule({ kind: 'every-epochs', lr: 0.1, everyEpochs: 0, factor: 0.1 }), /everyEpochs/);
  assert.throws(() => validateSchedule({ kind: 'milestones', lr: 0.1, milestones: [0], factor: 0.1 }), /milestones/);
  assert.throws(() => validateSchedule({ kind: 'milestones', lr: 0.1, milestones: [3], factor: -1 }), /factor/);
});
