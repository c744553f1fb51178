import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';

/** Damaged blobs are detected (by repro, and by verify) and their nodes recomputed. Stages run inline (in the CLI process): process isolation is covered by engine-crash. */

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));

function flipByte(path: string): void {
  chmodSync(path, 0o644);
  const bytes = readFileSync(path);
  bytes[0] = bytes[0]! ^ 0x01;
  writeFileSync(path, bytes);
}

test('a flipped byte in a blob is detected and the node recomputed; gc and verify keep the store honest', async () => {
  // Factor 10 keeps gen@n2's bytes ("2") unique: identical bytes of two nodes share one blob.
  const w = new ToyWorkspace(baseParams([1, 2], 10));
  spaces.push(w);
  assert.equal((await w.run(['repro', 'all', '--executor', 'inline'])).code, 0);
  const before = w.registered();

  // An intermediate file blob: repro notices (its stat changed), recomputes gen@n2, and since the
  // recomputed bytes are identical nothing downstream reruns.
  const executed = w.executions();
  const genBlob = w.blobPath(before['gen@n2']!['out']!);
  flipByte(genBlob);
  const r = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /repair +gen@n2: output 'out' \(blob [0-9a-f]{12}\) is corrupt/);
  const ran = w.query<{ node_id: string }>('SELECT node_id FROM executions WHERE id > ?', executed).map((x) => x.node_id);
  assert.deepEqual(ran, ['gen@n2']);
  assert.equal(readFileSync(genBlob, 'utf8'), '2\n');
  assert.deepEqual(w.registered(), before);

  // A member of a folder output, found by verify.
  const manifest = JSON.parse(readFileSync(w.blobPath(before['sum@scaled']!['report']!), 'utf8')) as { entries: Array<{ path: string; digest: string }> };
  const member = manifest.entries.find((e) => e.path === 'table.md')!;
  flipByte(w.blobPath(member.digest));
  const v = await w.run(['verify']);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /corrupt +sum@scaled:report/);
  assert.equal(w.query("SELECT * FROM nodes WHERE node_id = 'sum@scaled'").length, 0);
  const fixed = await w.run(['repro', 'all', '--executor', 'inline']);
  assert.equal(fixed.code, 0);
  assert.deepEqual(w.registered(), before);
  assert.equal((await w.run(['verify'])).code, 0);

  // gc: a blob nobody references is listed, then removed with --apply; referenced ones stay.
  w.writeParams(baseParams([1, 3], 10));
  assert.equal((await w.run(['repro', 'all', '--executor', 'inline'])).code, 0);
  const dry = await w.run(['gc']);
  assert.match(dry.stdout, /would remove 0 blobs/, 'old results are still registered, so nothing is garbage');
  const orphan = w.blobPath('0'.repeat(64));
  mkdirSync(dirname(orphan), { recursive: true });
  writeFileSync(orphan, 'x');
  const listed = await w.run(['gc']);
  assert.match(listed.stdout, /would remove 1 blobs/);
  const applied = await w.run(['gc', '--apply']);
  assert.match(applied.stdout, /removed 1 blobs/);
  assert.ok(!existsSync(orphan));
  assert.ok(existsSync(genBlob));
  assert.equal((await w.run(['verify'])).code, 0);
});
