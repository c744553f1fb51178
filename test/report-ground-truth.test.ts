// The ground-truth report's answers are derived from the numbers: check each outcome on made-up
// probe results, and the files' shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureReliance } from '../ml/probe/reliance.ts';
import {
  dnrAnswer,
  dnrWhy,
  groundTruthCsv,
  groundTruthMarkdown,
  groundTruthText,
  pearson,
  premiseRows,
  q1Answer,
  q1MethodVsTruth,
  q2Answer,
  q2MethodVsTruth,
  q2Why,
  regimeLine,
  worldRegime,
  writeGroundTruthReport,
  type AttackPoint,
  type ProbedModel,
} from '../report/ground-truth.ts';
import type { BuiltSetQuality } from '../ml/probe/built-set-quality.ts';

function reliance(robustOnly: number, nonRobustOnly: number, followsRobust = 0.5, natural = 0.8): FeatureReliance {
  return {
    count: 100,
    naturalAccuracy: natural,
    conflict: { count: 90, followsRobust, followsNonRobust: 1 - followsRobust, neither: 0 },
    robustOnly: { count: 100, accuracy: robustOnly },
    nonRobustOnly: { count: 10, accuracy: nonRobustOnly, followsRobust: 0 },
  };
}
const snap = (step: number, r: FeatureReliance): ProbedModel => ({ subject: { kind: 'q1', step }, nodes: [`probe@s${step}`], reliance: r });
const profile = { name: 'demo', synthetic: true };

/** Fields of one CSV line (quoted fields may hold commas). */
function splitCsv(line: string): string[] {
  return [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => m[1]!.replace(/^"|"$/g, '').replace(/""/g, '"'));
}

test('Q1: the answer follows which probe rises above chance first', () => {
  assert.match(q1Answer([snap(0, reliance(0.1, 0.1)), snap(20, reliance(0.5, 0.1)), snap(40, reliance(0.6, 0.5))]), /^robust first: .*step 20.*step 40/);
  assert.match(q1Answer([snap(0, reliance(0.1, 0.1)), snap(20, reliance(0.5, 0.4))]), /^both from the start: .*step 20/);
  assert.match(q1Answer([snap(20, reliance(0.1, 0.6)), snap(40, reliance(0.5, 0.7))]), /^non-robust first/);
  assert.match(q1Answer([snap(20, reliance(0.1, 0.1))]), /^neither feature/);
  assert.match(q1Answer([]), /no Q1 snapshots/);
});

test('Q2 and D_NR: trends and generalisation are read off the numbers', () => {
  const mix = (alpha: number, fr: number): ProbedModel => ({
    subject: { kind: 'q2', model: 'ResNet-18', alpha },
    nodes: ['p'],
    reliance: reliance(0.5, 0.5, fr),
  });
  assert.match(q2Answer([mix(0, 0.1), mix(1, 0.6), mix(0.5, 0.3)])[0]!, /rises with α \(10\.0 % at α = 0, 30\.0 % at α = 0\.5, 60\.0 % at α = 1\)/);
  assert.match(q2Answer([mix(0, 0.5), mix(1, 0.1)])[0]!, /falls/);
  assert.match(q2Answer([mix(0, 0.5), mix(1, 0.52)])[0]!, /stays flat/);
  const dnr = (acc: number): ProbedModel => ({ subject: { kind: 'dnr', variant: 'det' }, nodes: ['p'], reliance: reliance(0.1, 0.9, 0.1, acc) });
  // MadryLab's constructed-datasets figures: D_det 44 %, D_rand 63 % (87.7 % was their non-robust dataset's, not D_det's).
  assert.match(dnrAnswer([dnr(0.9)])!, /90\.0 % .*D_det 44 %.*alone generalise here/);
  const rand: ProbedModel = { subject: { kind: 'dnr', variant: 'rand' }, nodes: ['p'], reliance: reliance(0.1, 0.9, 0.1, 0.6) };
  assert.match(dnrAnswer([rand])!, /D_rand alone reaches 60\.0 % .*D_rand 63 %/);
  assert.match(dnrAnswer([dnr(0.1)])!, /do not generalise/);
});

test('Q2 and D_NR: the report says why from the numbers: no non-robust reliance to replace, label noise in D_R, a D_NR without p_t', () => {
  const mix = (model: string, alpha: number, followsRobust: number, followsNonRobust: number): ProbedModel => ({
    subject: { kind: 'q2', model, alpha },
    nodes: ['p'],
    reliance: { ...reliance(0.5, 0.1, followsRobust), conflict: { count: 90, followsRobust, followsNonRobust, neither: 1 - followsRobust - followsNonRobust } },
  });
  const quality = (q: Partial<BuiltSetQuality>): BuiltSetQuality => ({
    count: 100,
    robustIsLabel: 0.9,
    nonRobustIsLabel: 0.1,
    robustIsSource: 0.1,
    nonRobustIsSource: 0.9,
    labelIsSource: 0.1,
    meanNonRobustScoreLabel: 0.1,
    meanNonRobustScoreSource: 0.9,
    ...q,
  });
  const readout = { robustAccuracy: 1, nonRobustAccuracy: 1 } as never;
  const input = (probes: ProbedModel[], dr: Partial<BuiltSetQuality>, dnr?: Partial<BuiltSetQuality>) => ({
    profile,
    probes,
    qualities: [
      { node: 'dataset-quality@dr', report: { construction: 'D_R', quality: quality({ robustIsLabel: 0.833, ...dr }), readout } },
      ...(dnr ? [{ node: 'dataset-quality@ddet', report: { construction: 'D_det', quality: quality(dnr), readout } }] : []),
    ],
  });
  const falling = [mix('ResNet-18', 0, 0.88, 0.013), mix('ResNet-18', 1, 0.66, 0.04), mix('VGG-16', 0, 0.5, 0.03), mix('VGG-16', 1, 0.64, 0.04)];
  const why = q2Why(input(falling, {}))!;
  assert.match(why, /^Why it falls for ResNet-18 although D_R is good: at α = 0 these models follow the non-robust feature on at most 1\.3 % /);
  assert.match(why, /16\.7 % of images whose robust pattern is another class's/);
  assert.equal(q2Why(input(falling, { robustIsLabel: 0.6 })), undefined, 'a poor D_R is explained by drExplanation instead');
  assert.equal(q2Why(input([mix('VGG-16', 0, 0.5, 0.03), mix('VGG-16', 1, 0.64, 0.04)], {})), undefined, 'nothing falls: nothing to explain');
  assert.match(q2Why(input([mix('R', 0, 0.6, 0.3), mix('R', 1, 0.4, 0.3)], {}))!, /follow the non-robust feature on up to 30\.0 %/);
  const dnrWhyText = dnrWhy(input([], {}, { nonRobustIsLabel: 0, nonRobustIsSource: 1, robustIsSource: 0.929 }))!;
  assert.match(dnrWhyText, /D_det shows its target label's non-robust pattern in only 0\.0 % .* keeps the source's in 100\.0 % .* 92\.9 %.*wrong class\.$/);
  assert.equal(dnrWhy(input([], {}, { nonRobustIsLabel: 0.9 })), undefined, 'a D_NR that carries p_t needs no explanation');
  // A D_det whose model generalises needs no explanation of failure, whatever the read-out says.
  const works: ProbedModel = { subject: { kind: 'dnr', variant: 'det' }, nodes: ['p'], reliance: reliance(0.1, 0.9, 0.1, 0.835) };
  assert.equal(dnrWhy(input([works], {}, { nonRobustIsLabel: 0.244 })), undefined);
  const fails: ProbedModel = { ...works, reliance: reliance(0.1, 0.1, 0.1, 0.033) };
  assert.match(dnrWhy(input([fails], {}, { nonRobustIsLabel: 0.01 }))!, /did not plant p_t/);
  assert.match(
    q2Answer([mix('R', 1, 0.4, 0.3)])[0]!,
    /^R: the share of conflict images following the robust feature is measured at one α only \(40\.0 % at α = 1\)\.$/,
  );
});

test('the report files: Markdown with the answers, CSV with the paper column where it has a number, figure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-gt-'));
  try {
    const probes: ProbedModel[] = [
      snap(0, reliance(0.1, 0.1)),
      snap(20, reliance(0.5, 0.3)),
      { subject: { kind: 'q2', model: 'ResNet-50', alpha: 0 }, nodes: ['probe@a0'], reliance: reliance(0.5, 0.5) },
      {
        subject: { kind: 'q3', family: 'ResNet-50', backbone: 'ResNet-50', lr: 0.05, dataset: 'D', augmentation: 'std' },
        nodes: ['probe@q3'],
        reliance: reliance(0.5, 0.5),
      },
    ];
    await writeGroundTruthReport({ profile, probes, qualities: [] }, dir);
    const md = readFileSync(join(dir, 'ground-truth.md'), 'utf8');
    assert.match(md, /SYNTHETIC DATA/);
    assert.match(md, /\*\*Q1\*\*.*both from the start/);
    assert.match(md, /not measurable in the paper/);
    assert.match(md, /\| 94\.84 \|/, "Table 1's ResNet-50 on D keeps the paper's natural accuracy");
    const csv = groundTruthCsv({ profile, probes, qualities: [] }).trim().split('\n').map(splitCsv);
    assert.deepEqual(csv[0], ['report', 'profile', 'synthetic', 'experiment', 'subject', 'measure', 'ours', 'paper', 'nodes']);
    assert.equal(csv.length - 1, probes.length * 6);
    const q3natural = csv.find((r) => r[3] === 'q3' && r[5] === 'natural')!;
    assert.equal(q3natural[7], '94.84');
    assert.ok(
      csv
        .slice(1)
        .filter((r) => r[5] !== 'natural')
        .every((r) => r[7] === ''),
      'no paper value for a reliance measure',
    );
    assert.match(readFileSync(join(dir, 'ground-truth.svg'), 'utf8'), /training iterations/);
    const unavailable = mkdtempSync(join(tmpdir(), 'rf-gt-'));
    await writeGroundTruthReport(
      { profile: { name: 'cpu', synthetic: false }, probes: [], qualities: [], unavailable: 'Not measurable on CIFAR-10: reasons' },
      unavailable,
    );
    assert.match(readFileSync(join(unavailable, 'ground-truth.md'), 'utf8'), /Not measurable on CIFAR-10/);
    rmSync(unavailable, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A probe result whose conflict images follow p on `followsNonRobust` of them. */
function relying(followsNonRobust: number, nonRobustOnly: number, natural = 0.9): FeatureReliance {
  return {
    count: 100,
    naturalAccuracy: natural,
    conflict: { count: 100, followsRobust: 1 - followsNonRobust, followsNonRobust, neither: 0 },
    robustOnly: { count: 100, accuracy: 0.5 },
    nonRobustOnly: { count: 10, accuracy: nonRobustOnly, followsRobust: 0 },
  };
}

test('pearson: exact on linear and symmetric series, undefined on constant or short ones', () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [3, 5, 7, 9])! - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [8, 6, 4, 2])! + 1) < 1e-12);
  assert.ok(Math.abs(pearson([-1, 0, 1], [1, 0, 1])!) < 1e-12);
  // By hand: deviations (-1, 0, 1) and (-1, 1, 0): Σxy = 1, Σx² = Σy² = 2, r = 1/2.
  assert.ok(Math.abs(pearson([1, 2, 3], [1, 3, 2])! - 0.5) < 1e-12);
  assert.equal(pearson([1, 2, 3], [2, 2, 2]), undefined);
  assert.equal(pearson([1, 2], [1, 2]), undefined);
});

test('the world regime is read off the standard models only (Q1 last snapshot, Q2 at α = 0, Table 1 on D)', () => {
  const q2 = (alpha: number, f: number): ProbedModel => ({ subject: { kind: 'q2', model: 'ResNet-18', alpha }, nodes: ['p'], reliance: relying(f, f) });
  const q3 = (dataset: 'D' | 'D_R', f: number): ProbedModel => ({
    subject: { kind: 'q3', family: 'ResNet-50', backbone: 'ResNet-50', lr: 0.05, dataset, augmentation: 'std' },
    nodes: ['p'],
    reliance: relying(f, f),
  });
  const early = snap(0, relying(0.0, 0.0));
  const late = snap(40, relying(0.8, 0.9));
  // D_R-trained and α = 1 models (which should not rely on p) and early snapshots do not count.
  const present = worldRegime([early, late, q2(0, 0.7), q2(1, 0.05), q3('D', 0.9), q3('D_R', 0.0)])!;
  assert.equal(present.regime, 'present');
  assert.equal(present.models, 3);
  assert.ok(Math.abs(present.mean - 0.8) < 1e-12);
  assert.equal(present.min, 0.7);
  assert.equal(present.max, 0.9);
  assert.match(
    regimeLine([late, q2(0, 0.7), q3('D', 0.9)])!,
    /^World regime \(measured\): non-robust reliance present — .* 80\.0 % of conflict images on average \(70\.0-90\.0 %; chance 10\.0 %\)/,
  );
  assert.equal(worldRegime([q2(0, 0.3)])!.regime, 'partial');
  assert.equal(worldRegime([q2(0, 0.05), q3('D', 0.1)])!.regime, 'absent');
  assert.match(regimeLine([q2(0, 0.01)])!, /non-robust reliance absent/);
  assert.equal(worldRegime([q2(1, 0.9)]), undefined);
  assert.equal(regimeLine([]), undefined);
});

test("Q1 method against truth: the paper's inference is judged against the measured reliance", () => {
  const attack = (step: number, name: string, asr: number): AttackPoint => ({
    subject: { kind: 'q1', step },
    attack: name,
    naturalAccuracy: 0,
    robustAccuracy: 0,
    asr,
  });
  const snaps = [snap(0, relying(0.0, 0.0, 0.2)), snap(20, relying(0.3, 0.4, 0.6)), snap(40, relying(0.8, 0.9, 0.95))];
  // ASR rises with natural accuracy, and so does the measured reliance: agreement.
  const agree = q1MethodVsTruth({
    profile,
    probes: snaps,
    qualities: [],
    attacks: [attack(0, 'rot30', 0.1), attack(20, 'rot30', 0.5), attack(40, 'rot30', 0.9)],
  }).join('\n');
  assert.match(agree, /\| 20 \| 60\.0 \| 50\.0 \| 30\.0 \| 40\.0 \|/);
  assert.match(agree, /onset of non-robust reliance: step 20/);
  assert.match(agree, /rot30: ASR against natural accuracy r = 1\.00.*the paper's inference agrees with the probes/);
  // Measured reliance stays at zero while ASR rises: disagreement.
  const flat = [snap(0, relying(0.0, 0.0, 0.2)), snap(20, relying(0.0, 0.0, 0.6)), snap(40, relying(0.0, 0.0, 0.95))];
  const disagree = q1MethodVsTruth({
    profile,
    probes: flat,
    qualities: [],
    attacks: [attack(0, 'rot30', 0.1), attack(20, 'rot30', 0.5), attack(40, 'rot30', 0.9)],
  }).join('\n');
  assert.match(disagree, /onset of non-robust reliance: none/);
  assert.match(disagree, /the paper's inference disagrees with the probes/);
  // ASR falling with natural accuracy: the premise itself fails.
  const falls = q1MethodVsTruth({
    profile,
    probes: snaps,
    qualities: [],
    attacks: [attack(0, 'grid135', 0.9), attack(20, 'grid135', 0.5), attack(40, 'grid135', 0.1)],
  }).join('\n');
  assert.match(falls, /premise does not hold for this attack/);
  assert.deepEqual(q1MethodVsTruth({ profile, probes: snaps, qualities: [] }), []);
});

test('Q2 method against truth: robust accuracy under L2 attacks against the measured robust share across α', () => {
  const mix = (alpha: number, followsRobust: number): ProbedModel => ({
    subject: { kind: 'q2', model: 'ResNet-18', alpha },
    nodes: ['p'],
    reliance: relying(1 - followsRobust, 0.5),
  });
  const acc = (alpha: number, attack: string, robustAccuracy: number): AttackPoint => ({
    subject: { kind: 'q2', model: 'ResNet-18', alpha },
    attack,
    naturalAccuracy: 0.9,
    robustAccuracy,
    asr: null,
  });
  const probes = [mix(0, 0.2), mix(0.5, 0.5), mix(1, 0.9)];
  const tracks = q2MethodVsTruth({
    profile,
    probes,
    qualities: [],
    attacks: [acc(0, 'l2-0.5', 0.1), acc(0.5, 'l2-0.5', 0.4), acc(1, 'l2-0.5', 0.7), acc(0, 'linf-1', 0.5)],
  }).join('\n');
  assert.match(tracks, /\| 0\.5 \| 90\.0 \| 40\.0 \| 50\.0 \|/);
  assert.doesNotMatch(tracks, /linf-1/);
  assert.match(
    tracks,
    /ResNet-18, l2-0\.5: from α = 0 to 1 robust accuracy rises and the share following the robust feature rises \(r = 1\.00 over 3 α\); robust accuracy tracks/,
  );
  const against = q2MethodVsTruth({ profile, probes, qualities: [], attacks: [acc(0, 'l2-0.5', 0.7), acc(0.5, 'l2-0.5', 0.4), acc(1, 'l2-0.5', 0.1)] }).join(
    '\n',
  );
  assert.match(against, /robust accuracy falls .* moves against the measured robust reliance/);
});

test('the regime line stands beside the banner; the method section is in the Markdown', () => {
  const probes = [snap(0, relying(0.0, 0.0, 0.2)), snap(20, relying(0.3, 0.4, 0.6)), snap(40, relying(0.8, 0.9, 0.95))];
  const attacks: AttackPoint[] = [0, 20, 40].map((step, i) => ({
    subject: { kind: 'q1', step },
    attack: 'rot30',
    naturalAccuracy: 0,
    robustAccuracy: 0,
    asr: 0.1 + 0.4 * i,
  }));
  const md = groundTruthMarkdown({ profile, probes, qualities: [], attacks });
  const lines = md.split('\n');
  const banner = lines.findIndex((l) => l.startsWith('> **⚠'));
  assert.ok(banner > 0);
  assert.match(lines[banner + 2]!, /^> World regime \(measured\): non-robust reliance present/);
  assert.match(md, /## The paper's method against the truth \(beyond the paper\)/);
  assert.match(groundTruthText({ profile, probes, qualities: [] }), /World regime \(measured\): non-robust reliance present/);
  // No probes (real data): no regime line.
  assert.doesNotMatch(groundTruthMarkdown({ profile: { name: 'cpu', synthetic: false }, probes: [], qualities: [], unavailable: 'n/a' }), /World regime/);
});

test("the world's premise: each bar is checked against the numbers, and a miss says no", () => {
  const q2 = (model: string, alpha: number, f: number): ProbedModel => ({ subject: { kind: 'q2', model, alpha }, nodes: ['p'], reliance: relying(f, f, 0.95) });
  const acc = (model: string, alpha: number, attack: string, robustAccuracy: number): AttackPoint => ({
    subject: { kind: 'q2', model, alpha },
    attack,
    naturalAccuracy: 0.9,
    robustAccuracy,
    asr: null,
  });
  const fA = (attack: string, robustAccuracy: number): AttackPoint => ({ subject: { kind: 'fA' }, attack, naturalAccuracy: 0.8, robustAccuracy, asr: null });
  const probes = [
    q2('ResNet-18', 0, 0.9),
    q2('ResNet-18', 1, 0.05),
    { subject: { kind: 'dnr', variant: 'rand' }, nodes: ['p'], reliance: relying(0.9, 0.9, 0.55) } as ProbedModel,
  ];
  const rows = premiseRows({
    profile,
    probes,
    qualities: [],
    attacks: [acc('ResNet-18', 0, 'l2-0.5', 0.05), acc('ResNet-18', 1, 'l2-0.5', 0.5), fA('l2-0.5', 0.58), acc('ResNet-18', 0, 'linf-1', 0.9)],
  });
  const row = (prefix: string) => rows.find((r) => r.check.startsWith(prefix))!;
  assert.equal(row('1. standard models follow p').met, true);
  assert.equal(row('1. standard models follow p').measured, 'ResNet-18, α = 0 90.0 %');
  assert.equal(row('5.').met, true);
  assert.equal(row("2. brittle: α = 0 models' robust accuracy under l2-0.5").met, true);
  assert.equal(row("2. f_A's robust accuracy under l2-0.5").met, false);
  assert.equal(row('3. a model trained on D_R alone').measured, 'ResNet-18, α = 1 minus α = 0 +45.0 points');
  assert.equal(row('3. a model trained on D_R alone').met, true);
  assert.equal(row('4. a model trained on D_rand').met, true);
  assert.ok(!rows.some((r) => r.check.includes('linf')), 'only L2 attacks are premise checks');
  const md = groundTruthMarkdown({ profile, probes, qualities: [], attacks: [fA('l2-0.5', 0.58)] });
  assert.match(md, /\| 2\. f\\_A's robust accuracy under l2-0\.5 \| ≥ 60 % \| 58\.0 % \| \*\*no\*\* \|/);
});
