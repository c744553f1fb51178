// The cost model behind plans and the model descriptions in reports (ml/models/cost.ts): its
// multiply-adds against the published counts of the same CIFAR networks, its layouts against the
// model code, and the real depth and widths every report now states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGraph } from '../engine/plan/graph.ts';
import { readParamsFile, resolveProfile } from '../engine/plan/params.ts';
import { project } from '../experiments/project.ts';
import { profileSchema } from '../experiments/profile.ts';
import { COST_RESNET_WIDTHS, COST_VGG16_LAYOUT, describeModel, forwardCost } from '../ml/models/cost.ts';
import { RESNET_WIDTHS } from '../ml/models/resnet.ts';
import { VGG16_LAYOUT } from '../ml/models/vgg.ts';
import { notesMarkdown } from '../report/profile.ts';

// robust.source auto must not probe the authors' URL from the test suite.
process.env.RF_OFFLINE = '1';

test('multiply-adds match the published counts of the CIFAR ResNets and VGG-16 (kuangliu/pytorch-cifar: 0.56, 1.16, 1.30, 0.31 G)', () => {
  const g = (arch: 'resnet18' | 'resnet34' | 'resnet50' | 'vgg16') => forwardCost({ arch, inputSize: 32 }).macs / 1e9;
  for (const [arch, published] of [
    ['resnet18', 0.556],
    ['resnet34', 1.16],
    ['resnet50', 1.3],
    ['vgg16', 0.313],
  ] as const) {
    assert.ok(Math.abs(g(arch) / published - 1) < 0.01, `${arch}: ${g(arch)} G vs ${published} G`);
  }
  // Width w scales every conv's MACs by about w^2 (the 3-channel stem by w).
  const r = forwardCost({ arch: 'resnet18', width: 0.5, inputSize: 32 }).macs / forwardCost({ arch: 'resnet18', inputSize: 32 }).macs;
  assert.ok(r > 0.25 && r < 0.26, String(r));
});

test('the cost model reads the same layouts as the model code', () => {
  assert.deepEqual([...COST_RESNET_WIDTHS], [...RESNET_WIDTHS]);
  assert.deepEqual([...COST_VGG16_LAYOUT], [...VGG16_LAYOUT]);
});

test('descriptions state the real depth and widths behind a paper name', () => {
  assert.equal(
    describeModel({ arch: 'resnet34', width: 0.125, blocks: [1, 1, 1, 1], inputSize: 32 }),
    'resnet34, blocks [1, 1, 1, 1] (stock [3, 4, 6, 3]): 10 layers, width 0.125 (stage channels 8-64)',
  );
  assert.equal(
    describeModel({ arch: 'resnet50', width: 0.125, inputSize: 32 }),
    'resnet50, blocks [3, 4, 6, 3]: 50 layers, width 0.125 (stage channels 8-256)',
  );
  assert.equal(describeModel({ arch: 'resnet18', inputSize: 32 }), 'resnet18, blocks [2, 2, 2, 2]: 18 layers, width 1 (stage channels 64-512)');
});

function reportNotes(profile: string): string[] {
  const file = readParamsFile(new URL('../params.yaml', import.meta.url).pathname);
  const g = checkGraph(project.build(resolveProfile(file, profile, profileSchema, []).params, profile));
  return (g.nodes.get('table@table1')!.params as { profile: { notes: string[] } }).profile.notes;
}

test("reports say what the models really are: the demo's ResNet-34 is one block per stage, the cpu profile's is the real depth", () => {
  const demo = reportNotes('demo');
  assert.ok(
    demo.includes('Q1 "ResNet-34" is resnet34, blocks [1, 1, 1, 1] (stock [3, 4, 6, 3]): 10 layers, width 0.125 (stage channels 8-64).'),
    demo.join('\n'),
  );
  assert.ok(
    demo.some((n) => n.startsWith('D_R: D_R built locally (robust.source: build): f_A = resnet18, blocks [1, 1, 1, 1]')),
    demo.join('\n'),
  );
  const cpu = reportNotes('cpu');
  assert.ok(cpu.includes('Q1 "ResNet-34" is resnet34, blocks [3, 4, 6, 3]: 34 layers, width 0.25 (stage channels 16-128).'), cpu.join('\n'));
  assert.ok(cpu.includes('Q2 "ResNet-50" is resnet50, blocks [3, 4, 6, 3]: 50 layers, width 0.125 (stage channels 8-256).'), cpu.join('\n'));
  assert.ok(cpu.some((n) => /^train: a seeded class-balanced subset of 10000 of the 50000 CIFAR-10 train images/.test(n)));
  assert.deepEqual(notesMarkdown({ name: 'x', synthetic: false, notes: ['a', 'b'] }), ['- a', '- b', '']);
});
