import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defenceCsvRows, defenceMarkdown, defenceRows, pgdPartner } from '../report/defence-check.ts';

test('PGD partners of the AutoAttack presets', () => {
  assert.equal(pgdPartner('aa-l2-0.5'), 'l2-0.5');
  assert.equal(pgdPartner('aa-l2-0.25-lite'), 'l2-0.25');
  assert.equal(pgdPartner('aa-linf-8-lite'), 'linf-8');
  assert.equal(pgdPartner('l2-0.5'), null);
});

test('defence rows: gap, flag above 5 points, top component, and images PGD breaks but AutoAttack does not, by hand', () => {
  const rows = defenceRows([
    {
      model: 'VGG-16',
      alpha: 0.5,
      evaluations: [
        { attack: 'l2-0.5', description: 'pgd', robustAccuracy: 0.5, robustMask: '1111100000' },
        // AA keeps image 5 right that PGD broke; breaks 0, 1 that PGD left right.
        { attack: 'aa-l2-0.5-lite', description: 'aa', robustAccuracy: 0.4, robustMask: '0011110000', brokenBy: { 'apgd-ce': 1, 'apgd-t': 2, square: 0 } },
      ],
    },
    {
      model: 'ResNet-18',
      alpha: 0,
      evaluations: [
        { attack: 'l2-0.25', description: 'pgd', robustAccuracy: 0.3 },
        { attack: 'aa-l2-0.25', description: 'aa', robustAccuracy: 0.28 },
        { attack: 'aa-l2-0.5', description: 'aa without a PGD partner', robustAccuracy: 0.1 },
      ],
    },
  ]);
  assert.equal(rows.length, 2, 'an AutoAttack without its PGD partner is not checked');
  const [r18, vgg] = rows;
  assert.equal(r18!.model, 'ResNet-18');
  assert.ok(Math.abs(r18!.gapPoints - 2) < 1e-9);
  assert.equal(r18!.flagged, false);
  assert.equal(r18!.pgdOnly, null, 'no masks recorded');
  assert.ok(Math.abs(vgg!.gapPoints - 10) < 1e-9);
  assert.equal(vgg!.flagged, true);
  assert.equal(vgg!.topComponent, 'apgd-t');
  assert.equal(vgg!.pgdOnly, 1);
  const csv = defenceCsvRows(rows);
  assert.deepEqual(csv[1]!.slice(0, 10), ['VGG-16', '0.5', 'l2-0.5', 'aa-l2-0.5-lite', '50.0', '40.0', '10.0', 'apgd-t', '2', '1']);
  const md = defenceMarkdown(rows).join('\n');
  assert.match(md, /gradient masking/);
  assert.match(md, /Flagged \(1\): VGG-16 at α=0.5/);
  assert.match(md, /`aa-l2-0.5-lite`: aa/);
});

test('a gap of exactly 5 points is not flagged (27 % against 22 %, 5.000000000000004 in floating point)', () => {
  const [row] = defenceRows([
    {
      model: 'ResNet-50',
      alpha: 0.5,
      evaluations: [
        { attack: 'l2-0.25', description: 'pgd', robustAccuracy: 0.27 },
        { attack: 'aa-l2-0.25-lite', description: 'aa', robustAccuracy: 0.22 },
      ],
    },
  ]);
  assert.equal(row!.gapPoints, 5);
  assert.equal(row!.flagged, false);
});
