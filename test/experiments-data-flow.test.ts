// experiments/: the Q1-Q3 builders return the models they add and the ground truth probes exactly
// those (it no longer reads them back out of the figure and table nodes); each parameter's bounds
// are declared once, in the schema of the stage that reads it, and the profile imports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import { GraphBuilder } from '../experiments/builder.ts';
import { addData } from '../experiments/data.ts';
import { profileSchema } from '../experiments/profile.ts';
import { addQ1 } from '../experiments/q1.ts';
import { addQ2 } from '../experiments/q2.ts';
import { addQ3 } from '../experiments/q3.ts';
import { addTruth } from '../experiments/truth.ts';
import { figureParams } from '../stages/figure.ts';
import { groundTruthParams } from '../stages/ground-truth.ts';
import { alphaSchema } from '../stages/schemas.ts';
import { trainParams } from '../stages/train.ts';

const file = readParamsFile(new URL('../params.yaml', import.meta.url).pathname);
const demo = resolveProfile(file, 'demo', profileSchema, []).params;
const info = { name: 'demo', synthetic: true };

test('the Q1-Q3 builders return the models they train, and the ground truth probes the models it is given', () => {
  const b = new GraphBuilder();
  const data = addData(b, demo, '/nonexistent');
  const q1 = addQ1(b, demo, data, info);
  const q2 = addQ2(b, demo, data, info);
  const q3 = addQ3(b, demo, data, info);
  const ids = (stage: string, prefix: string) =>
    b.nodes
      .filter((n) => n.stage.name === stage && n.id.startsWith(prefix))
      .map((n) => n.id)
      .sort();
  assert.deepEqual([...new Set(q1.evaluations.map((e) => e.model.node))].sort(), ids('snapshot', 'snapshot@'));
  assert.deepEqual([...new Set(q2.evaluations.map((e) => e.model.node))].sort(), ids('train', 'train@q2'));
  assert.deepEqual(q3.runs.map((r) => r.model.node).sort(), ids('train', 'train@q3'));
  assert.ok(q1.evaluations.length > 0 && q2.evaluations.length > 0 && q3.runs.length > 0);

  // Given only Q2's models, the ground truth probes those and nothing of Q1 or Q3, although the
  // figure and table nodes that name them are in the graph.
  addTruth(b, demo, data, info, { q1: { evaluations: [] }, q2, q3: { runs: [] } });
  const gt = groundTruthParams.parse(b.nodes.find((n) => n.id === 'ground-truth')!.params);
  const kinds = new Set(gt.probes.map((p) => p.subject.kind));
  assert.ok(kinds.has('q2'));
  assert.ok(!kinds.has('q1') && !kinds.has('q3'), `probed kinds: ${[...kinds].join(', ')}`);
});

test("the q2 alpha's bounds are one schema, which the profile, train, figure and ground-truth schemas use", () => {
  const q2 = profileSchema.shape.q2.shape;
  assert.equal(q2.alphas.element, alphaSchema);
  assert.equal(trainParams.shape.alpha.unwrap(), alphaSchema);
  const mixPoint = figureParams.options[1].shape.points.element.shape;
  assert.equal(mixPoint.alpha, alphaSchema);
  const q2Subject = groundTruthParams.shape.probes.element.shape.subject.options[1].shape;
  assert.equal(q2Subject.kind.value, 'q2');
  assert.equal(q2Subject.alpha, alphaSchema);
  for (const bad of [-0.1, 1.5]) assert.throws(() => profileSchema.shape.q2.parse({ ...demo.q2, alphas: [bad] }));
});
