import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { LineageDb } from '../engine/state/db.ts';
import { ToyWorkspace, baseParams } from './helpers/toy-workspace.ts';

/** --db keeps the lineage database apart from the artifacts (a cluster's shared folder), for every verb. */

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((f) => f()));

test('--db puts the lineage database elsewhere; repro, status and show all use it', async () => {
  const w = new ToyWorkspace(baseParams([1, 2]));
  cleanup.push(() => w.dispose());
  const local = mkdtempSync(join(tmpdir(), 'rf-localdisk-'));
  cleanup.push(() => rmSync(local, { recursive: true, force: true }));
  const db = join(local, 'nested', 'lineage.sqlite');
  const r = await w.run(['--db', db, 'repro', 'all', '--executor', 'inline']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(existsSync(db));
  assert.ok(!existsSync(join(w.dir, 'artifacts', 'lineage.sqlite')), 'the database was written into artifacts/ despite --db');
  const again = await w.run(['--db', db, 'status']);
  assert.match(again.stdout, /8 nodes, 8 cached, 0 to run/);
  const show = await w.run(['--db', db, 'show', 'sum@scaled']);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /sum@scaled/);
  // Without --db the same artifacts look unregistered: nothing was cached in the default place.
  assert.match((await w.run(['status'])).stdout, /0 cached, 8 to run/);
});

test('exclusive mode (a database on a network file system): one connection holds it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-excl-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'lineage.sqlite');
  const db = new LineageDb(path, { exclusive: true });
  db.startRun('repro', null, [], 'h');
  assert.equal(db.db.pragma('locking_mode', { simple: true }), 'exclusive');
  // No shared-memory index beside it (the part of WAL that network file systems break).
  assert.ok(!existsSync(`${path}-shm`));
  const other = new Database(path, { timeout: 100 });
  assert.throws(() => other.prepare('SELECT COUNT(*) FROM runs').get(), /locked|busy/i);
  other.close();
  db.close();
});
