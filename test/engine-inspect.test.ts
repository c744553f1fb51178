import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';

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
  assert.match(show.stdout, /metrics\n    total: 30/);

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
  assert.match(lines[0]!, /^sum@scaled +\[sum [0-9a-f]{10}\] +\{"label":"scaled"\}/);
  assert.match(lineage.stdout, /├─ parts\[0\] <- scale@n1 .*\{"factor":10\}\n│  └─ src <- gen@n1 .*\{"n":1\}/);
  assert.match(lineage.stdout, /└─ parts\[1\] <- scale@n2/);

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
