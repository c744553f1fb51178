// The ground-truth wiring: every model the questions train gets a probe, the datasets get quality
// nodes, the truth target is in `all`; on CIFAR-10 only the report saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { project } from '../experiments/project.ts';
import { profileSchema, type Profile } from '../experiments/profile.ts';
import { readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import type { NodeSpec } from '../engine/core/project.ts';
import { learningRate, type LrSchedule } from '../ml/train/schedule.ts';
import { scaledSchedule } from '../experiments/truth.ts';

const file = readParamsFile(new URL('../params.yaml', import.meta.url).pathname);
const graph = (name: string) => project.build(resolveProfile(file, name, profileSchema, []).params, name);

test('demo: a probe on every Q1 snapshot, Q2 and Table 1 model, f_A and the D_NR model; quality nodes in dr, dnr and the D_R reports', () => {
  const { nodes, groups } = graph('demo');
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const probed = new Set(nodes.filter((n) => n.stage.name === 'probe').map((n) => (n.inputs!['model'] as { node: string }).node));
  const trained = nodes.filter((n) => n.stage.name === 'train' && n.id !== 'train@standard' && !n.id.startsWith('train@q3-') && !n.id.startsWith('train@q1-'));
  for (const t of trained) assert.ok(probed.has(t.id), `${t.id} has no probe`);
  for (const s of nodes.filter((n) => n.stage.name === 'snapshot')) assert.ok(probed.has(s.id), `${s.id} has no probe`);
  const table1 = byId.get('table@table1')!.params as { cells: { trainNode: string }[] };
  for (const c of table1.cells) assert.ok(probed.has(c.trainNode), `${c.trainNode} (Table 1) has no probe`);
  assert.ok(probed.has('train@fa') && probed.has('train@ddet'));
  const gt = byId.get('ground-truth') as NodeSpec;
  assert.equal((gt.inputs!['probes'] as unknown[]).length, probed.size);
  assert.ok(groups['all']!.includes('ground-truth'));
  for (const g of ['dr', 'fig3', 'table1', 'truth']) assert.ok(groups[g]!.includes('dataset-quality@dr'), `${g} lacks the D_R quality`);
  assert.ok(groups['dnr']!.includes('dataset-quality@ddet'));
  // The D_NR model trains as many updates as a D run: epochs scaled by |D| / |D_NR|.
  const demo = resolveProfile(file, 'demo', profileSchema, []).params;
  const dnr = byId.get('train@ddet')!.params as { epochs: number; lr: LrSchedule };
  const scale = demo.data.synthetic!.trainCount / (demo.robust.nonRobust?.count ?? NaN);
  assert.ok(scale > 1, `D_NR (${demo.robust.nonRobust?.count}) is smaller than D (${demo.data.synthetic!.trainCount}) in the demo`);
  assert.equal(dnr.epochs, demo.q2.train.epochs * scale);
  // ... and its learning rate decays after the same share of those updates as the D run's.
  assert.equal(demo.q2.train.lr.kind, 'every-epochs');
  assert.deepEqual(dnr.lr, demo.q2.train.lr.kind === 'every-epochs' ? { ...demo.q2.train.lr, everyEpochs: demo.q2.train.lr.everyEpochs * scale } : null);
  // D_rand is built and a model trained on it alone is probed, as D_det's.
  assert.ok(probed.has('train@drand') && groups['dnr']!.includes('dataset-quality@drand'));
  // The figures' evaluations of the probed models, and f_A under Figure 3's L2 attacks, feed the
  // method-against-truth section and the premise checks, aligned with params.attacks.
  const gtParams = gt.params as { attacks: { node: string; attack: string; subject: { kind: string } }[] };
  const evals = gt.inputs!['evals'] as readonly { node: string }[];
  assert.deepEqual(
    evals.map((e) => e.node),
    gtParams.attacks.map((a) => a.node),
  );
  const fig = (id: string) => (byId.get(id)!.params as { points: { evalNode: string }[] }).points.map((p) => p.evalNode);
  for (const e of [...fig('figure@fig1'), ...fig('figure@fig2'), ...fig('figure@fig3')])
    assert.ok(
      evals.some((x) => x.node === e),
      `${e} not in the ground truth`,
    );
  assert.deepEqual(
    gtParams.attacks.filter((a) => a.subject.kind === 'fA').map((a) => a.attack),
    ['l2-0.25', 'l2-0.5'],
  );
  // D_NR's source is a standard model: trained as the Q2 models are, with std augmentation.
  assert.equal((byId.get('train@standard')!.params as { augment: string }).augment, 'std');
});

test('demo and demo-control: the same graph over two worlds, the colour cast against the gratings', () => {
  const world = (name: string) => graph(name).nodes.find((n) => n.id === 'synthetic-dataset')!.params as { nonRobustKind?: string; nonRobustNorm?: number };
  assert.deepEqual([world('demo').nonRobustKind, world('demo').nonRobustNorm], ['tint', 0.35]);
  assert.deepEqual([world('demo-control').nonRobustKind, world('demo-control').nonRobustNorm], ['grating', 0.15]);
  assert.deepEqual(
    graph('demo-control')
      .nodes.map((n) => n.id)
      .sort(),
    graph('demo')
      .nodes.map((n) => n.id)
      .sort(),
  );
});

test('cpu (CIFAR-10): no probes, a report that says why', () => {
  const { nodes, groups } = graph('cpu');
  assert.equal(nodes.filter((n) => n.stage.name === 'probe' || n.stage.name === 'dataset-quality').length, 0);
  const gt = nodes.find((n) => n.id === 'ground-truth')!;
  assert.match((gt.params as { unavailable: string }).unavailable, /Not measurable on CIFAR-10/);
  assert.deepEqual(groups['truth'], ['ground-truth']);
});

test('scaledSchedule: a set k times smaller, k times the epochs, the same lr at every update (whole and fractional k)', () => {
  const base = { kind: 'every-epochs', lr: 0.05, everyEpochs: 3, factor: 0.1 } as const;
  for (const [dCount, count, batchSize, epochs] of [
    [4000, 1000, 64, 4],
    [4000, 1600, 50, 4],
    [3000, 1000, 100, 7],
  ] as const) {
    const scale = dCount / count;
    const lr = scaledSchedule(base, scale, { count, batchSize, epochs: epochs * scale });
    const dPerEpoch = Math.ceil(dCount / batchSize);
    const perEpoch = Math.ceil(count / batchSize);
    for (let s = 0; s < epochs * dPerEpoch; s++) {
      // The small run's update s stands where the D run's is by the share of updates done.
      const share = s / (epochs * dPerEpoch);
      const t = Math.floor(share * epochs * scale * perEpoch);
      const want = learningRate(base, s, dPerEpoch);
      // Decays may land one update apart where the epochs do not divide evenly.
      const near = [t - 1, t, t + 1].map((u) => learningRate(lr, Math.max(0, u), perEpoch));
      assert.ok(
        near.some((v) => Math.abs(v - want) < 1e-12),
        `scale ${scale}: lr at update ${s} (${want}) not near ${t} (${near.join(', ')})`,
      );
    }
  }
  const steps: Profile['q2']['train']['lr'] = { kind: 'milestones', lr: 0.1, milestones: [100], factor: 0.1 };
  assert.deepEqual(scaledSchedule(steps, 4, { count: 1000, batchSize: 64, epochs: 16 }), steps, 'milestones count updates: unchanged');
});
