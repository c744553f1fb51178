// The regime line beside every synthetic banner: read from the ground-truth report, inserted after
// the banner of Markdown and text reports, nowhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FeatureReliance } from '../ml/probe/reliance.ts';
import { groundTruthMarkdown, regimeLine, type ProbedModel } from '../report/ground-truth.ts';
import { REGIME_PREFIX, regimeFromGroundTruth, withRegimeLine } from '../report/regime-line.ts';

const reliance = (followsNonRobust: number): FeatureReliance => ({
  count: 100,
  naturalAccuracy: 0.9,
  conflict: { count: 100, followsRobust: 1 - followsNonRobust, followsNonRobust, neither: 0 },
  robustOnly: { count: 100, accuracy: 0.5 },
  nonRobustOnly: { count: 10, accuracy: 0.8, followsRobust: 0 },
});
const probes: ProbedModel[] = [{ subject: { kind: 'q2', model: 'ResNet-18', alpha: 0 }, nodes: ['p'], reliance: reliance(0.78) }];

test('the ground-truth report states the regime with the prefix the publisher looks for', () => {
  const line = regimeLine(probes)!;
  assert.ok(line.startsWith(REGIME_PREFIX));
  const md = groundTruthMarkdown({ profile: { name: 'demo', synthetic: true }, probes, qualities: [] });
  assert.equal(regimeFromGroundTruth(md), line);
  assert.equal(regimeFromGroundTruth('# a report\n\n> **⚠ banner**\n'), undefined);
});

test('withRegimeLine: after the banner of Markdown and text reports, once; other files untouched', () => {
  const regime = `${REGIME_PREFIX} non-robust reliance present — 78.0 %`;
  const md = '# Table 1\n\n> **⚠ SYNTHETIC DATA**\n\nProfile: `demo`.\n';
  assert.equal(withRegimeLine('table1.md', md, regime), `# Table 1\n\n> **⚠ SYNTHETIC DATA**\n\n> ${regime}\n\nProfile: \`demo\`.\n`);
  assert.equal(withRegimeLine('table1.md', withRegimeLine('table1.md', md, regime), regime), withRegimeLine('table1.md', md, regime));
  assert.equal(withRegimeLine('table1.txt', 'Table 1\n!! SYNTHETIC DATA\nrows', regime), `Table 1\n!! SYNTHETIC DATA\n!! ${regime}\nrows`);
  // Real data has no banner; a CSV has no place for it.
  assert.equal(withRegimeLine('table1.md', '# Table 1\n\nProfile: `cpu`.\n', regime), '# Table 1\n\nProfile: `cpu`.\n');
  assert.equal(withRegimeLine('table1.csv', 'a,b\n', regime), 'a,b\n');
});
