/**
 * The backend agreement check (report/agreement.ts): which figures of a result are proportions and
 * over how many images, the two tolerances (values worked out by hand below), and the verdicts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareResults, proportionsOf, proportionTolerance, summarise } from '../report/agreement.ts';

const evaluation = (natural: number, robust: number, norm: number) => ({
  attack: 'L2-PGD ε=0.5',
  count: 16,
  naturalAccuracy: natural,
  robustAccuracy: robust,
  asr: null,
  fooled: 3,
  meanPerturbationL2: norm,
  perClass: [
    { count: 4, accuracy: 0.25 },
    { count: 12, accuracy: 0.5 },
  ],
  robustMask: '0101',
});

const probe = (follows: number) => ({
  count: 40,
  naturalAccuracy: 0.5,
  conflict: { count: 20, followsRobust: 0.25, followsNonRobust: follows, neither: 0.75 - follows },
  nonRobustOnly: { count: 40, accuracy: 0.1, followsRobust: 0.05 },
  meanNonRobustScoreLabel: 0.8,
});

describe('backend agreement', () => {
  it('takes the proportions of a result, each over the count of its own object', () => {
    const got = Object.fromEntries(proportionsOf(evaluation(0.75, 0.5, 1.39)).map((p) => [p.path, p.n]));
    assert.deepEqual(got, { naturalAccuracy: 16, robustAccuracy: 16, 'perClass[0].accuracy': 4, 'perClass[1].accuracy': 12 });
    const p = Object.fromEntries(proportionsOf(probe(0.5)).map((x) => [x.path, x.n]));
    assert.equal(p['conflict.followsNonRobust'], 20);
    assert.equal(p['nonRobustOnly.followsRobust'], 40);
    assert.equal(p['naturalAccuracy'], 40);
    assert.equal(p['meanNonRobustScoreLabel'], undefined, 'a mean is not a proportion');
    const quality = {
      construction: 'D_R',
      quality: { count: 50, robustIsLabel: 0.7, nonRobustIsLabel: 0.1, labelIsSource: 0.1, meanNonRobustScoreLabel: 0.2 },
    };
    assert.deepEqual(
      proportionsOf(quality).map((x) => `${x.path}/${x.n}`),
      ['quality.robustIsLabel/50', 'quality.nonRobustIsLabel/50', 'quality.labelIsSource/50'],
    );
  });

  it('counts beside the proportions are not proportions, and a success rate is over the naturally right images', () => {
    const result = {
      ...evaluation(0.75, 0.5, 1.39),
      fooled: 1,
      asr: 0.25,
      moved: { broken: 1, nonRobustToPrediction: 0, robustToPrediction: 0, neither: 1, meanPlanted: 0.5 },
      perClass: [
        { label: 1, count: 4, naturalCorrect: 2, robustCorrect: 1, fooled: 1, naturalAccuracy: 0.5, robustAccuracy: 0.25, asr: 0.5 },
        { label: 0, count: 0, naturalCorrect: 0, robustCorrect: 0, fooled: 0, naturalAccuracy: 0, robustAccuracy: 0, asr: null },
      ],
    };
    const got = Object.fromEntries(proportionsOf(result).map((p) => [p.path, p.n]));
    assert.deepEqual(got, {
      naturalAccuracy: 16,
      robustAccuracy: 16,
      asr: 12,
      'perClass[0].naturalAccuracy': 4,
      'perClass[0].robustAccuracy': 4,
      'perClass[0].asr': 2,
    });
  });

  it('tolerances: one image on the same inputs; 3·√(2p(1−p)/n) + 1/n on retrained ones', () => {
    assert.equal(proportionTolerance(0.5, 0.5, 16, 'same-inputs'), 1 / 16);
    // p = 3/32: 3·√(2·(3/32)·(29/32)/16) + 1/16 = 0.371661858…
    assert.ok(Math.abs(proportionTolerance(3 / 16, 0, 16, 'retrained') - 0.37166185839702154) < 1e-12);
    // p = 0.5, n = 100: 3·√(0.005) + 0.01 = 0.222132034…
    assert.ok(Math.abs(proportionTolerance(0.9, 0.1, 100, 'retrained') - 0.22213203435596426) < 1e-12);
    assert.equal(proportionTolerance(0, 0, 16, 'retrained'), 1 / 16);
    // Success rates over 12 and 8 right images: p = (6 + 2)/20 = 0.4, 3·√(0.4·0.6·(1/12 + 1/8)) + 1/8 = 3·√0.05 + 0.125
    assert.ok(Math.abs(proportionTolerance(0.5, 0.25, 12, 'retrained', 8) - (3 * Math.sqrt(0.05) + 0.125)) < 1e-12);
    assert.equal(proportionTolerance(0.5, 0.25, 12, 'same-inputs', 11), 1 / 11);
  });

  it("retrained models' success rates count over their own right images; one with none right leaves it undefined, not outside", () => {
    const withAsr = (natural: number, right: number, asr: number | null) => ({ ...evaluation(natural, 0, 1), naturalCorrect: right, fooled: 0, asr });
    const differentRight = compareResults('e', withAsr(0.75, 12, 1), withAsr(0.5, 8, 1), 'retrained');
    assert.deepEqual(differentRight.unmatched, []);
    const asr = differentRight.figures.find((f) => f.path === 'asr')!;
    assert.deepEqual([asr.n, asr.nB, asr.within], [12, 8, true]);
    const noneRight = compareResults('e', withAsr(0.25, 4, 1), withAsr(0, 0, null), 'retrained');
    assert.deepEqual([noneRight.unmatched, noneRight.undefinedOnOneSide], [[], ['asr']]);
    assert.ok(noneRight.figures.find((f) => f.path === 'naturalAccuracy')!.within);
    assert.deepEqual(summarise([noneRight]).outside, []);
    // Still judged: the same success rate over other right images must be close, as any proportion.
    const far = compareResults('e', withAsr(0.75, 12, 1), withAsr(0.75, 12, 0), 'retrained');
    assert.deepEqual(
      far.figures.filter((f) => !f.within).map((f) => f.path),
      ['asr'],
    );
  });

  it('on the same inputs one flipped image passes and two fail; mean norms are not judged', () => {
    const one = compareResults('e', evaluation(0.75, 0.5, 1.39), evaluation(0.75, 0.5625, 1.41), 'same-inputs');
    assert.ok(one.figures.every((f) => f.within));
    const two = compareResults('e', evaluation(0.75, 0.5, 1.39), evaluation(0.75, 0.625, 1.39), 'same-inputs');
    assert.deepEqual(
      two.figures.filter((f) => !f.within).map((f) => f.path),
      ['robustAccuracy'],
    );
  });

  it('retrained near-chance models may differ by a few images; opposite accuracies may not', () => {
    const near = compareResults('e', evaluation(3 / 16, 0, 1), evaluation(0, 0, 1), 'retrained');
    assert.ok(near.figures.every((f) => f.within));
    const far = compareResults('e', evaluation(0.9375, 0.5, 1), evaluation(0.25, 0.5, 1), 'retrained');
    assert.deepEqual(
      far.figures.filter((f) => !f.within).map((f) => f.path),
      ['naturalAccuracy'],
    );
  });

  it('summarises identical, within and outside, and a proportion on one side only is outside', () => {
    const same = compareResults('a', probe(0.5), probe(0.5), 'retrained');
    const within = compareResults('b', probe(0.5), probe(0.45), 'same-inputs');
    const lopsided = compareResults(
      'c',
      probe(0.5),
      { ...probe(0.5), conflict: { count: 19, followsRobust: 0.25, followsNonRobust: 0.5, neither: 0.25 } },
      'retrained',
    );
    assert.ok(lopsided.unmatched.includes('conflict.followsNonRobust'));
    const s = summarise([same, within, lopsided]);
    assert.deepEqual([s.nodes, s.identical, s.withinTolerance, s.outside.map((r) => r.node)], [3, 1, 1, ['c']]);
  });
});
