// What an attack's successful examples changed (ml/probe/attack-moves.ts), on linear models that
// read one planted feature only: PGD against the non-robust reader must plant the predicted
// class's non-robust pattern, PGD against the robust reader must show the predicted class's
// robust pattern; and the report section by hand.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateSyntheticSplit, syntheticBank, type SyntheticBank } from '../ml/data/synthetic.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { AttackMovesCounter } from '../ml/probe/attack-moves.ts';
import { attackMovesMarkdown } from '../report/attack-moves.ts';
import { ArrayImageSet, useNativeOrCpu, type LinearClassifier } from './attacks-helpers.ts';
import { linearFromColumns, robustTemplates } from './helpers/synthetic-readers.ts';

before(useNativeOrCpu);

const S = 32 * 32 * 3;
const K = 10;

async function moves(bank: SyntheticBank, model: LinearClassifier, eps: number, step: number) {
  const d = generateSyntheticSplit(bank, 'test');
  const set = new ArrayImageSet(d.pixels, d.labels, 32, 32, 3, K);
  const counter = new AttackMovesCounter(bank);
  let handed = 0;
  const r = await evaluateAttack(
    model,
    set,
    { kind: 'pgd', norm: 'l2', eps, step, iterations: 20, randomStart: false, target: 'none' },
    {
      batchSize: 40,
      onBroken: (clean, adv, pred) => {
        handed += pred.length;
        for (let i = 0; i < pred.length; i++) assert.notEqual(pred[i], undefined);
        counter.add(clean, adv, pred, S);
      },
    },
  );
  model.dispose();
  assert.equal(handed, r.naturalCorrect - r.robustCorrect, 'onBroken sees exactly the images the attack broke');
  return { r, m: counter.result() };
}

test('PGD against a reader of the non-robust patterns plants the predicted class’s non-robust pattern, not its robust one', async (t) => {
  const bank = syntheticBank({ seed: 3, trainCount: 0, testCount: 120 });
  const model = linearFromColumns(bank.nonRobust.map((p) => p.map((v) => v / bank.params.nonRobustNorm ** 2)));
  const { m } = await moves(bank, model, 0.5, 0.1);
  t.diagnostic(JSON.stringify(m));
  assert.ok(m.broken > 60, `broken ${m.broken}`);
  assert.ok(m.nonRobustToPrediction / m.broken > 0.95, JSON.stringify(m));
  assert.ok(m.robustToPrediction / m.broken < 0.2, JSON.stringify(m));
  assert.ok(m.meanPlanted > 0.3, `planted ${m.meanPlanted}`);
});

test('PGD against a reader of the robust patterns shows the predicted class’s robust pattern, not its non-robust one', async (t) => {
  const bank = syntheticBank({ seed: 3, trainCount: 0, testCount: 120 });
  const model = linearFromColumns(robustTemplates(bank));
  const { m } = await moves(bank, model, 8, 0.8);
  t.diagnostic(JSON.stringify(m));
  assert.ok(m.broken > 30, `broken ${m.broken}`);
  assert.ok(m.robustToPrediction / m.broken > 0.95, JSON.stringify(m));
  assert.ok(m.nonRobustToPrediction / m.broken < 0.2, JSON.stringify(m));
});

test('the report section: rows by model and α, AutoAttack under its PGD partner, shares and the pooled sentence by hand', () => {
  const m = (broken: number, nonRobust: number, robust: number, neither: number) => ({
    broken,
    nonRobustToPrediction: nonRobust,
    robustToPrediction: robust,
    neither,
    meanPlanted: 0.5,
  });
  const md = attackMovesMarkdown([
    { subject: { kind: 'q2', model: 'VGG-16', alpha: 0 }, attack: 'aa-l2-0.5-lite', moved: m(10, 9, 0, 1) },
    { subject: { kind: 'q2', model: 'VGG-16', alpha: 0 }, attack: 'l2-0.5', moved: m(10, 8, 1, 1) },
    { subject: { kind: 'q2', model: 'ResNet-18', alpha: 1 }, attack: 'l2-0.25', moved: m(0, 0, 0, 0) },
    { subject: { kind: 'q2', model: 'ResNet-18', alpha: 0 }, attack: 'none' },
  ]).join('\n');
  const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| model'));
  assert.deepEqual(rows, [
    '| ResNet-18 | 1 | l2-0.25 | 0 | — | — | — | — |',
    '| VGG-16 | 0 | l2-0.5 | 10 | 80.0 | 10.0 | 10.0 | 0.50 |',
    '| VGG-16 | 0 | aa-l2-0.5-lite | 10 | 90.0 | 0.0 | 10.0 | 0.50 |',
  ]);
  assert.match(
    md,
    /PGD's 10 successful examples carry the predicted class's non-robust pattern in 80\.0 % and show its robust pattern in 10\.0 %; AutoAttack's 10 successful examples .* 90\.0 % .* 0\.0 %/,
  );
  assert.deepEqual(attackMovesMarkdown([{ subject: { kind: 'q2', model: 'x', alpha: 0 }, attack: 'l2-0.5' }]), []);
});
