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

test('HTML: the ground truth section shows the regime line and the method-against-truth section unfolded', async () => {
  const { reportSection } = await import('../report/html/sections.ts');
  await (await import('../report/html/markdown.ts')).loadMarkdownRenderer();
  const { groundTruthCsv } = await import('../report/ground-truth.ts');
  const snap = (step: number, f: number, natural: number): ProbedModel => ({
    subject: { kind: 'q1', step },
    nodes: ['p'],
    reliance: { ...reliance(f), naturalAccuracy: natural },
  });
  const input = {
    profile: { name: 'demo', synthetic: true },
    probes: [snap(0, 0, 0.2), snap(20, 0.4, 0.6), snap(40, 0.9, 0.95)],
    qualities: [],
    attacks: [0, 20, 40].map((step, i) => ({
      subject: { kind: 'q1' as const, step },
      attack: 'rot30',
      naturalAccuracy: 0,
      robustAccuracy: 0,
      asr: 0.1 + 0.4 * i,
    })),
  };
  const files = [
    { name: 'ground-truth.md', content: groundTruthMarkdown(input) },
    { name: 'ground-truth.csv', content: groundTruthCsv(input) },
  ];
  const section = reportSection({ id: 'ground-truth', key: 'k', stage: 'ground-truth', group: 'truth', files }, new Map());
  assert.match(section.html, /World regime \(measured\): non-robust reliance present/);
  const at = section.html.indexOf('method against the truth (beyond the paper)');
  assert.ok(at > 0, 'the method section is on the page');
  // Not folded away: no <details> opens before it.
  assert.ok(!section.html.slice(0, at).includes('<details'), 'the method section is not inside a folded block');
  assert.match(section.html, /rot30: ASR against natural accuracy r = 1\.00/);
});
