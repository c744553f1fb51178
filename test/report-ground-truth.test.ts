// The ground-truth report's answers are derived from the numbers: check each outcome on made-up
// probe results, and the files' shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureReliance } from '../ml/probe/reliance.ts';
import { dnrAnswer, groundTruthCsv, q1Answer, q2Answer, writeGroundTruthReport, type ProbedModel } from '../report/ground-truth.ts';

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
