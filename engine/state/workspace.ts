import { mkdirSync, statfsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LineageDb } from './db.ts';
import { Integrity } from './integrity.ts';
import { isAlive } from './process-alive.ts';
import { BlobStore } from './store.ts';

export { codeRoot } from '../core/source-digest.ts';

/**
 * The on-disk state of a project checkout: `params.yaml` beside an `artifacts/` folder holding the
 * blob store, the SQLite lineage database, logs, locks and resumable scratch space.
 */
export interface Workspace {
  readonly root: string;
  readonly paramsPath: string;
  readonly artifactsDir: string;
  readonly db: LineageDb;
  readonly store: BlobStore;
  readonly integrity: Integrity;
  readonly host: string;
  close(): void;
}

/**
 * `dbPath` (the CLI's --db) puts the lineage database elsewhere than `artifacts/lineage.sqlite`: on
 * a cluster the artifacts folder sits on a network file system, where SQLite's locking and WAL
 * shared memory are unreliable, so the driver keeps the database on its local disk. Left on a
 * network file system, the database is opened in exclusive mode (one process, no shared memory).
 */
export async function openWorkspace(root: string, artifactsDir = join(root, 'artifacts'), dbPath?: string): Promise<Workspace> {
  const abs = resolve(root);
  mkdirSync(artifactsDir, { recursive: true });
  const path = resolve(dbPath ?? join(artifactsDir, 'lineage.sqlite'));
  mkdirSync(dirname(path), { recursive: true });
  const db = new LineageDb(path, { exclusive: onNetworkFileSystem(dirname(path)) });
  const store = new BlobStore(artifactsDir);
  const host = hostname();
  // Whatever a killed driver left behind: executions still marked running, half-written staging.
  db.markDeadAsInterrupted(host, isAlive);
  await store.clearStaleStaging(isAlive);
  return {
    root: abs,
    paramsPath: join(abs, 'params.yaml'),
    artifactsDir,
    db,
    store,
    integrity: new Integrity(store, db),
    host,
    close: () => db.close(),
  };
}

/** statfs magic numbers of network and cluster file systems (linux/magic.h and the vendors'). */
const NETWORK_FS = new Set([
  0x6969 /* NFS */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */, 0x0bd00bd0 /* Lustre */, 0x47504653 /* GPFS */, 0x19830326 /* BeeGFS */,
  0x00c36400 /* Ceph */, 0x65735546 /* FUSE (sshfs and others) */, 0x013111a8 /* IBRIX */, 0xaad7aaea /* PanFS */,
]);

export function onNetworkFileSystem(dir: string): boolean {
  try {
    return NETWORK_FS.has(Number(statfsSync(dir).type));
  } catch {
    return false;
  }
}
