import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';
import { compareLabels, fitPairs, paramPairs } from '../engine/cli/format.ts';
import { Reporter } from '../engine/cli/reporter.ts';

/** What a person sees: show, lineage, log, dag and status on a finished toy run. Stages run inline (in the CLI process): process isolation is covered by engine-crash. */

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));

test('show, lineage, log, dag and status describe what ran, from where, with which parameters', async () => {
  const w = new ToyWorkspace(baseParams([1, 2], 10, { steps: 3, ms: 1 }));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'all', 'slow', '--executor', 'inline'])).code, 0);

  const show = await w.run(['show', 'sum@scaled']);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /node sum@scaled\n  key +[0-9a-f]{64}\n  stage +sum v1/);
  assert.match(show.stdout, /params\n    label: scaled/);
  assert.match(show.stdout, /parts\[0\] +<- scale@n1:out/);
  assert.match(show.stdout, /report +dir /);
  assert.match(show.stdout, /metrics\n    total: 30\n    firstShare: 0\.3333$/m);
  const showExact = await w.run(['show', 'sum@scaled', '-v']);
  assert.match(showExact.stdout, /firstShare: 0\.3333333333333333$/m);

  const slow = await w.run(['show', 'slow']);
  assert.match(slow.stdout, /environment \{"resumedFrom":0\}/);
  assert.match(slow.stdout, /series +count \(3 points\)/);

  // (factor 10 keeps gen@n2's bytes unique: equal bytes from two nodes share one blob)
  const digest = w.registered()['gen@n2']!['out']!;
  const art = await w.run(['show', digest.slice(0, 10)]);
  assert.equal(art.code, 0, art.stderr);
  assert.match(art.stdout, new RegExp(`artifact ${digest}\\n  kind +file`));
  assert.match(art.stdout, /produced by\n    gen@n2:out/);
  const byName = await w.run(['show', 'sum@scaled:report']);
  assert.match(byName.stdout, /kind +dir/);

  const lineage = await w.run(['lineage', 'sum@scaled']);
  assert.equal(lineage.code, 0);
  const lines = lineage.stdout.trim().split('\n');
  assert.match(lines[0]!, /^sum@scaled +\[sum [0-9a-f]{10}\] +label=scaled$/);
  assert.match(lineage.stdout, /├─ parts\[0\] <- scale@n1 .*factor=10\n│  └─ src <- gen@n1 .*n=1/);
  assert.match(lineage.stdout, /└─ parts\[1\] <- scale@n2/);
  const exact = await w.run(['lineage', 'sum@scaled', '-v']);
  assert.match(exact.stdout, /^sum@scaled +\[sum [0-9a-f]{10}\] +\{"label":"scaled"\}/);
  assert.match(exact.stdout, /├─ parts\[0\] <- scale@n1 .*\{"factor":10\}/);

  const log = await w.run(['log']);
  assert.match(log.stdout, /run 1 .* succeeded +base +repro all slow --executor inline\n +ran 9/);
  const detail = await w.run(['log', '1']);
  assert.match(detail.stdout, /succeeded +gen@n1/);

  const mermaid = await w.run(['dag', 'scaled', '--mermaid']);
  assert.match(mermaid.stdout, /^graph TD\n/);
  assert.match(mermaid.stdout, /n\d+\["gen@n1"\]/);
  assert.match(mermaid.stdout, /-->\|parts\|/);
  const dot = await w.run(['dag', '--dot']);
  assert.match(dot.stdout, /digraph pipeline \{[\s\S]*-> n\d+ \[label="src"\]/);

  w.writeParams(baseParams([1, 3], 10, { steps: 3, ms: 1 }));
  const status = await w.run(['status']);
  assert.match(status.stdout, /profile base: 8 nodes, 3 cached, 5 to run/);
  assert.match(status.stdout, /gen@n3: never run/);

  const missing = await w.run(['show', 'nothing-here']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nothing registered matches 'nothing-here'/);
});

test('lineage fits 100 columns and lists list inputs in index order', async () => {
  const values = Array.from({ length: 12 }, (_, i) => i + 1);
  const w = new ToyWorkspace(baseParams(values, 10));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'scaled', '--executor', 'inline'])).code, 0);
  const tree = await w.run(['lineage', 'sum@scaled']);
  assert.equal(tree.code, 0, tree.stderr);
  const lines = tree.stdout.trimEnd().split('\n');
  assert.deepEqual(
    lines.filter((l) => l.length > 100),
    [],
    'every line within 100 columns',
  );
  const order = lines.flatMap((l) => /parts\[(\d+)\] <-/.exec(l)?.[1] ?? []).map(Number);
  assert.deepEqual(
    order,
    values.map((_, i) => i),
    'parts[10] after parts[9], not after parts[1]',
  );
});

test('long parameters are elided to the room left, saying how many were left out', () => {
  const pairs = paramPairs({ model: { arch: 'resnet18', width: 64 }, lr: 0.05, augment: 'std*', data: { name: 'D_R', size: 50000 } });
  assert.deepEqual(pairs, ['model.arch=resnet18', 'model.width=64', 'lr=0.05', 'augment=std*', 'data.name=D_R', 'data.size=50000']);
  assert.equal(fitPairs(pairs, 200), pairs.join(' '));
  const fitted = fitPairs(pairs, 40);
  assert.ok(fitted.length <= 40, fitted);
  assert.equal(fitted, 'model.arch=resnet18 model.width=64 …+4');
  // One value longer than the room: cut, with the count of the others.
  const cut = fitPairs([`label=${'x'.repeat(80)}`, 'n=1'], 30);
  assert.ok(cut.length <= 30 && cut.startsWith('label=xxx') && cut.endsWith('… …+1'), cut);
  assert.equal(fitPairs(pairs, 3), '…+6', 'only the count when no pair fits');
  assert.equal(fitPairs(pairs, 2), '', 'nothing when not even the count fits');
  assert.deepEqual(['evals[10]', 'evals[1]', 'data', 'evals[2]'].sort(compareLabels), ['data', 'evals[1]', 'evals[2]', 'evals[10]']);
});

test('a dry run folds the reasons a node would run into 100 columns, losing no word', () => {
  const out: string[] = [];
  const r = new Reporter({ tty: false, verbose: false, dryRun: true, write: (l) => out.push(l) });
  const reasons = [
    '98 inputs come from 97 nodes that would run (evaluate@q3-ResNet-50-ResNet-50-D-std-lr0.05-none, evaluate@q3-ResNet-50-ResNet-50-D-std-lr0.05-rot10, …)',
    'this node reruns unless their bytes come out identical',
  ];
  r.handle({ type: 'would-run', node: 'table@table1', key: undefined, reasons, estimateSeconds: 2 });
  const lines = out.join('\n').split('\n');
  assert.deepEqual(
    lines.filter((l) => l.length > 100),
    [],
  );
  assert.match(lines[0]!, /^ {2}to run {4}table@table1 /);
  assert.equal(
    lines
      .slice(1)
      .map((l) => l.trim())
      .join(' '),
    `because ${reasons.join('; ')}`,
  );
});

test('show with --set names the node those parameters select, not the latest registration of its id', async () => {
  const w = new ToyWorkspace(baseParams([1, 2], 10, { steps: 3, ms: 1 }));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'scaled', '--executor', 'inline'])).code, 0);
  const notRun = await w.run(['show', 'scale@n1', '--set', 'scale.factor=7']);
  assert.equal(notRun.code, 2);
  assert.match(notRun.stderr, /'scale@n1' has not run with these parameters \(run it with 'repro scale@n1 --set scale\.factor=7'\)/);
  assert.equal((await w.run(['repro', 'scaled', '--executor', 'inline', '--set', 'scale.factor=7'])).code, 0);
  assert.match((await w.run(['show', 'scale@n1'])).stdout, /params\n    factor: 7/, 'without --set: the latest registration');
  const older = await w.run(['show', 'scale@n1', '--set', 'scale.factor=10']);
  assert.equal(older.code, 0, older.stderr);
  assert.match(older.stdout, /params\n    factor: 10/);
  // A key prefix is not a node id of the graph: found as before.
  const key = /key +([0-9a-f]{64})/.exec(older.stdout)![1]!;
  assert.match((await w.run(['show', key.slice(0, 12), '--set', 'scale.factor=7'])).stdout, /params\n    factor: 10/);
});
