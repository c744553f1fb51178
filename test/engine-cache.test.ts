import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToyWorkspace, baseParams, type CliResult } from './helpers/toy-workspace.ts';
import { waitFor } from './helpers/wait-for.ts';

/** Caching through the real CLI: what reruns, what does not, and why. Stages run inline (in the CLI process): process isolation is covered by engine-crash. */

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));
function workspace(yaml: string): ToyWorkspace {
  const w = new ToyWorkspace(yaml);
  spaces.push(w);
  return w;
}

test('a no-op repro recomputes nothing; one changed sweep value reruns exactly its branch; identical bytes stop the cascade', async () => {
  const w = workspace(baseParams([1, 2, 3]));
  const first = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal(w.executions('succeeded'), 11);
  assert.equal(w.query('SELECT * FROM nodes').length, 11);
  const before = w.registered();
  assert.equal(before['sum@scaled'] !== undefined, true);

  // No-op: nothing executes (SQLite and the stages' own trace agree).
  const traced = w.trace().length;
  const noop = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(noop.code, 0, noop.stderr);
  assert.equal(w.executions(), 11);
  assert.equal(w.trace().length, traced);
  assert.match(noop.stdout, /11 cached, 0 ran/);

  // 3 -> 5: gen, scale and parity of the new value run, and sum@scaled (its input changed).
  // parity(5) = parity(3) = 1, so sum@parity's inputs have identical content: it stays cached.
  w.writeParams(baseParams([1, 2, 5]));
  const dry = await w.run(['repro', 'all', '--dry-run', '-v', '--executor', 'inline']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /to run +gen@n5[\s\S]*never run/);
  assert.match(dry.stdout, /cached +gen@n1/);
  // Without -v, the cached nodes (most of a finished project's dry run) are one line.
  const brief = await w.run(['repro', 'all', '--dry-run', '--executor', 'inline']);
  assert.equal(brief.code, 0, brief.stderr);
  assert.match(brief.stdout, /to run +gen@n5/);
  assert.doesNotMatch(brief.stdout, /cached +gen@n1/);
  assert.match(brief.stdout, /^ {2}cached +6 nodes \(-v lists them\)$/m);
  assert.match(brief.stdout, /dry run \(base\): 6 cached, 5 to run/);
  assert.equal(w.executions(), 11, 'a dry run executes nothing');

  const changed = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(changed.code, 0, changed.stderr);
  const ran = w.query<{ node_id: string }>('SELECT node_id FROM executions WHERE id > 11 ORDER BY node_id').map((r) => r.node_id);
  assert.deepEqual(ran, ['gen@n5', 'parity@n5', 'scale@n5', 'sum@scaled']);
  const after1 = w.registered();
  assert.equal(after1['sum@parity']!['total'], before['sum@parity']!['total']);
  assert.notEqual(after1['sum@scaled']!['total'], before['sum@scaled']!['total']);
  assert.deepEqual(after1['slow'], before['slow']);
});

test('a changed parameter is named in the dry run; --set overrides one key; profiles inherit', async () => {
  const w = workspace(baseParams([1, 2]));
  assert.equal((await w.run(['repro', 'scaled', '--executor', 'inline'])).code, 0);
  const dry = await w.run(['repro', 'scaled', '--dry-run', '-v', '--set', 'scale.factor=7', '--executor', 'inline']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /to run +scale@n1\s+because param factor: 2 -> 7/);
  assert.match(dry.stdout, /to run +sum@scaled\s+because input 'parts\[0\]' comes from scale@n1, which would run/);
  assert.match(dry.stdout, /cached +gen@n1/);

  const tripled = await w.run(['--profile', 'tripled', 'repro', 'scaled', '--executor', 'inline']);
  assert.equal(tripled.code, 0, tripled.stderr);
  const totals = w.query<{ metrics: string }>("SELECT metrics FROM executions WHERE node_id = 'sum@scaled' ORDER BY id");
  assert.deepEqual(
    totals.map((t) => JSON.parse(t.metrics).total),
    [6, 9],
  );

  const forced = await w.run(['repro', 'scaled', '--force', 'gen@n1', '--executor', 'inline']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /run +gen@n1 +\(forced\)/);
  assert.match(forced.stdout, /cached +scale@n1|1 ran/);
  assert.equal(w.query("SELECT * FROM executions WHERE node_id = 'scale@n1'").length, 2, 'identical forced output leaves dependents cached');
});

/**
 * Runs `args` with the gen stages held at a gate (ENGINE_TOY_GATE_GEN) until the trace shows two of
 * them running at once, then opens it: two executions overlap by construction, and a run that
 * never has two going fails here, naming that, instead of passing or failing by timing.
 */
async function runWithTwoGensAtOnce(w: ToyWorkspace, args: readonly string[]): Promise<CliResult> {
  const gateFile = join(w.dir, 'gate');
  const result = w.run(args, { ENGINE_TOY_GATE_GEN: gateFile });
  let done = false;
  void result.then(() => (done = true));
  try {
    await waitFor('two gen nodes running at once', () => done || w.trace().filter((l) => l.startsWith('gen ')).length >= 2, 120_000, 20);
  } finally {
    writeFileSync(gateFile, '');
  }
  const r = await result;
  assert.ok(!done || w.trace().filter((l) => l.startsWith('gen ')).length >= 2, `the run ended before two gen nodes ran at once:\n${r.stdout}${r.stderr}`);
  return r;
}

test('--jobs 2 gives the same artifacts as --jobs 1', async () => {
  const a = workspace(baseParams([1, 2, 3, 4]));
  const b = workspace(baseParams([1, 2, 3, 4]));
  const ra = await a.run(['repro', 'all', '--jobs', '1']);
  const rb = await runWithTwoGensAtOnce(b, ['repro', 'all', '--jobs', '2']);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual(b.registered(), a.registered());
  // SQLite agrees that executions overlapped.
  const spans = b.query<{ s: string; e: string }>('SELECT started_at AS s, ended_at AS e FROM executions ORDER BY started_at');
  assert.ok(
    spans.some((x, i) => i > 0 && x.s < spans[i - 1]!.e),
    'expected overlapping executions with --jobs 2',
  );
});

test('--jobs 2 runs the independent inputs of one target side by side', async () => {
  const w = workspace(baseParams([1, 2, 3, 4]));
  // sum@scaled's four inputs (and their gen nodes) do not depend on each other: two gen nodes
  // must be able to run at once.
  const r = await runWithTwoGensAtOnce(w, ['repro', 'scaled', '--jobs', '2']);
  assert.equal(r.code, 0, r.stderr);
  const spans = w.query<{ s: string; e: string }>(
    "SELECT started_at AS s, ended_at AS e FROM executions WHERE node_id LIKE 'gen@%' OR node_id LIKE 'scale@%' ORDER BY started_at",
  );
  assert.equal(spans.length, 8);
  assert.ok(
    spans.some((x, i) => i > 0 && x.s < spans[i - 1]!.e),
    'expected overlapping executions under one target',
  );
});
