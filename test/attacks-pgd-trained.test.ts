import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { TinyMlp, sliceSet, templateData, trainClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

test('PGD lowers the accuracy of a trained small model monotonically in eps; eps = 0 changes nothing', async () => {
  const all = templateData(41, 320, { size: 8, channels: 3, classes: 4, amp: 0.25, noise: 0.2 });
  const [train, testSet] = [sliceSet(all, 0, 256), sliceSet(all, 256, 320)];
  const model = new TinyMlp(4, 8 * 8 * 3, 43);
  trainClassifier(model, train, { steps: 150, batchSize: 32, lr: 0.01, seed: 44 });
  for (const [norm, epsList] of [
    ['l2', [0, 0.1, 0.25, 0.5, 1, 2]],
    ['linf', [0, 1 / 255, 4 / 255, 8 / 255, 16 / 255, 32 / 255]],
  ] as const) {
    const acc: number[] = [];
    let natural = -1;
    for (const eps of epsList) {
      const step = eps > 0 ? eps / 4 : 0.1;
      const r = await evaluateAttack(model, testSet, { kind: 'pgd', norm, eps, step, iterations: 10, randomStart: false, target: 'none' }, { batchSize: 64 });
      if (eps === 0) {
        assert.ok(r.naturalAccuracy > 0.9, `the model should have learnt the task (natural ${r.naturalAccuracy})`);
        assert.deepEqual(r.robustCorrectMask, r.naturalCorrectMask, 'eps = 0 changes no prediction');
        assert.equal(r.meanPerturbationL2, 0);
        natural = r.naturalAccuracy;
      }
      acc.push(r.robustAccuracy);
    }
    for (let k = 1; k < acc.length; k++) assert.ok(acc[k]! <= acc[k - 1]!, `${norm}: accuracy not monotone in eps: ${acc.join(', ')}`);
    assert.ok(acc[acc.length - 1]! < natural - 0.5, `${norm}: the largest eps should break most predictions: ${acc.join(', ')}`);
  }
  model.dispose();
});
