// The ground-truth report's answers are derived from the numbers: check each outcome on made-up
// probe results, and the files' shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureReliance } from '../ml/probe/reliance.ts';
import { dnrAnswer, dnrWhy, groundTruthCsv, q1Answer, q2Answer, q2Why, writeGroundTruthReport, type ProbedModel } from '../report/ground-truth.ts';
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
  assert.match(dnrAnswer([dnr(0.9)])!, /90\.0 % .* 87\.7 %.*alone generalise here/);
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
      ...(dnr ? [{ node: 'dataset-quality@dnr-det', report: { construction: 'D_det', quality: quality(dnr), readout } }] : []),
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
