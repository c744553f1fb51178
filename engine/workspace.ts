import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { LineageDb } from './db.ts';
import { Integrity } from './integrity.ts';
import { isAlive } from './process-alive.ts';
import { BlobStore } from './store.ts';

export { codeRoot } from './source-digest.ts';

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

export async function openWorkspace(root: string, artifactsDir = join(root, 'artifacts')): Promise<Workspace> {
  const abs = resolve(root);
  mkdirSync(artifactsDir, { recursive: true });
  const db = new LineageDb(join(artifactsDir, 'lineage.sqlite'));
  const store = new BlobStore(artifactsDir);
  const host = hostname();
  // Whatever a killed driver left behind: executions still marked running, half-written staging.
  db.markDeadAsInterrupted(host, isAlive);
  await store.clearStaleStaging(isAlive);
  return {
    root: abs, paramsPath: join(abs, 'params.yaml'), artifactsDir, db, store, integrity: new Integrity(store, db), host,
    close: () => db.close(),
  };
}

