import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { ArtifactRef } from './store.ts';
import type { ArtifactKind } from '../core/stage.ts';

/**
 * Lineage, timings and metrics in SQLite (WAL, so `show` and `log` can read while a run writes).
 * Only driver processes write it; workers report to their driver over IPC.
 *
 * - runs: one row per CLI invocation that executes or plans nodes.
 * - executions: every attempt at a node, failed and interrupted ones included.
 * - nodes: registered results (the cache index). A row appears only after every output blob is
 *   stored, in the same transaction as its outputs and edges.
 * - outputs / edges / artifacts: what each registered node produced and consumed.
 * - series: per-step or per-epoch figures a stage records (training curves).
 * - blob_stats: each blob's size, inode and ctime when last verified, so a cache hit can trust a
 *   blob by stat alone unless the file was touched since (any write changes its ctime).
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT, command TEXT NOT NULL,
  profile TEXT, targets TEXT, status TEXT NOT NULL, host TEXT, pid INTEGER, summary TEXT);
CREATE TABLE IF NOT EXISTS executions (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, node_key TEXT NOT NULL, node_id TEXT NOT NULL,
  stage TEXT NOT NULL, stage_version INTEGER NOT NULL, code_digest TEXT NOT NULL, params TEXT NOT NULL,
  inputs TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
  duration_s REAL, host TEXT, pid INTEGER, environment TEXT, exit_code INTEGER, signal TEXT,
  error TEXT, metrics TEXT, handle TEXT);
CREATE INDEX IF NOT EXISTS executions_by_key ON executions(node_key);
CREATE INDEX IF NOT EXISTS executions_by_node ON executions(node_id);
CREATE TABLE IF NOT EXISTS nodes (
  key TEXT PRIMARY KEY, node_id TEXT NOT NULL, stage TEXT NOT NULL, stage_version INTEGER NOT NULL,
  code_digest TEXT NOT NULL, params TEXT NOT NULL, execution_id INTEGER NOT NULL,
  registered_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS nodes_by_id ON nodes(node_id, registered_at);
CREATE TABLE IF NOT EXISTS outputs (
  node_key TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, kind TEXT NOT NULL,
  size INTEGER NOT NULL, PRIMARY KEY (node_key, name));
CREATE INDEX IF NOT EXISTS outputs_by_digest ON outputs(digest);
CREATE TABLE IF NOT EXISTS edges (
  node_key TEXT NOT NULL, input TEXT NOT NULL, from_key TEXT NOT NULL, from_node_id TEXT NOT NULL,
  from_output TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (node_key, input));
CREATE INDEX IF NOT EXISTS edges_by_from ON edges(from_key);
CREATE TABLE IF NOT EXISTS artifacts (
  digest TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blob_stats (
  digest TEXT PRIMARY KEY, size INTEGER NOT NULL, ino TEXT NOT NULL, ctime_ns TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
  execution_id INTEGER NOT NULL, name TEXT NOT NULL, step REAL NOT NULL, vals TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS series_by_exec ON series(execution_id, name);
`;

export type ExecutionStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface RunRow {
  id: number;
  started_at: string;
  ended_at: string | null;
  command: string;
  profile: string | null;
  targets: string | null;
  status: string;
  host: string | null;
  pid: number | null;
  summary: string | null;
}
export interface ExecutionRow {
  id: number;
  run_id: number;
  node_key: string;
  node_id: string;
  stage: string;
  stage_version: number;
  code_digest: string;
  params: string;
  inputs: string;
  status: ExecutionStatus;
  started_at: string;
  ended_at: string | null;
  duration_s: number | null;
  host: string | null;
  pid: number | null;
  environment: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  metrics: string | null;
  /** Where the executor can find this execution again (a Slurm job id and folder); null for local ones. */
  handle: string | null;
}
export interface NodeRow {
  key: string;
  node_id: string;
  stage: string;
  stage_version: number;
  code_digest: string;
  params: string;
  execution_id: number;
  registered_at: string;
}
export interface OutputRow {
  node_key: string;
  name: string;
  digest: string;
  kind: ArtifactKind;
  size: number;
}
export interface EdgeRow {
  node_key: string;
  input: string;
  from_key: string;
  from_node_id: string;
  from_output: string;
  digest: string;
}
export interface BlobStatRow {
  digest: string;
  size: number;
  ino: string;
  ctime_ns: string;
}
export interface SeriesRow {
  execution_id: number;
  name: string;
  step: number;
  vals: string;
}

export interface Registration {
  readonly key: string;
  readonly nodeId: string;
  readonly stage: string;
  readonly stageVersion: number;
  readonly codeDigest: string;
  readonly params: string;
  readonly executionId: number;
  readonly outputs: Readonly<Record<string, ArtifactRef>>;
  readonly edges: ReadonlyArray<Omit<EdgeRow, 'node_key'>>;
}

const now = (): string => new Date().toISOString();

/**
 * better-sqlite3's addon where its install puts it (build/Release), so that opening a database
 * does not go through the `bindings` package: that searches a dozen candidate paths, each a failed
 * require with its package.json lookups, about 35 ms of every command. Anywhere else (an unusual
 * build), undefined: better-sqlite3 then searches as it always did.
 */
let addonPath: string | null | undefined;
export function sqliteAddonPath(): string | undefined {
  if (addonPath === undefined) {
    let found: string | null = null;
    try {
      const candidate = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3')), '..', 'build', 'Release', 'better_sqlite3.node');
      if (existsSync(candidate)) found = candidate;
    } catch {
      // better-sqlite3 itself does not resolve: its default loading reports that below.
    }
    addonPath = found;
  }
  return addonPath ?? undefined;
}

/** The error of an execution whose driver died while its batch job may still run (reattachable). */
const DETACHED = 'driver died; its job may still run (the next repro reattaches)';

export class LineageDb {
  readonly db: Database.Database;

  /**
   * `exclusive`: for a database on a network file system (see workspace.ts). SQLite's POSIX locks
   * and WAL's memory-mapped index are unreliable there; in exclusive locking mode one connection
   * holds the file for its lifetime and WAL keeps its index in private memory, so only one
   * process (the driver) uses the database at a time.
   */
  constructor(path: string, options: { readonly?: boolean; exclusive?: boolean } = {}) {
    const nativeBinding = sqliteAddonPath();
    this.db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
      ...(nativeBinding !== undefined ? { nativeBinding } : {}),
    });
    this.db.pragma('busy_timeout = 15000');
    if (options.exclusive) this.db.pragma('locking_mode = EXCLUSIVE');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
      // Databases made before executions had a handle column get it (SQLite has no ADD COLUMN IF NOT EXISTS).
      const cols = this.db.prepare('PRAGMA table_info(executions)').all() as Array<{ name: string }>;
      if (!cols.some((c) => c.name === 'handle')) this.db.exec('ALTER TABLE executions ADD COLUMN handle TEXT');
    }
  }

  close(): void {
    this.db.close();
  }

  private readonly statements = new Map<string, Database.Statement>();
  /** Prepared statements are compiled once per connection: a no-op run issues thousands of queries. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  startRun(command: string, profile: string | null, targets: readonly string[], host: string): number {
    const r = this.db
      .prepare('INSERT INTO runs (started_at, command, profile, targets, status, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(now(), command, profile, targets.join(' '), 'running', host, process.pid);
    return Number(r.lastInsertRowid);
  }

  endRun(id: number, status: string, summary: Readonly<Record<string, unknown>>): void {
    this.stmt('UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?').run(now(), status, JSON.stringify(summary), id);
  }

  /** Runs and executions left 'running' by a process that died (kill -9, power loss) become 'interrupted'. */
  markDeadAsInterrupted(host: string, isAlive: (pid: number) => boolean): void {
    const dead = (rows: Array<{ id: number; pid: number | null }>) => rows.filter((r) => r.pid === null || !isAlive(r.pid)).map((r) => r.id);
    const runs = dead(this.stmt("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?").all(host) as Array<{ id: number; pid: number | null }>);
    const execs = this.db
      .prepare("SELECT e.id AS id, r.pid AS pid FROM executions e JOIN runs r ON r.id = e.run_id WHERE e.status = 'running' AND r.host = ?")
      .all(host) as Array<{ id: number; pid: number | null }>;
    const deadExecs = dead(execs);
    const tx = this.db.transaction(() => {
      for (const id of runs) this.stmt("UPDATE runs SET status = 'interrupted', ended_at = ? WHERE id = ?").run(now(), id);
      for (const id of deadExecs) {
        // A batch job (with a handle) outlives its driver: the next repro of the node reattaches to it.
        this.stmt(
          "UPDATE executions SET status = 'interrupted', ended_at = ?, error = CASE WHEN handle IS NULL THEN 'driver died' ELSE ? END WHERE id = ?",
        ).run(now(), DETACHED, id);
      }
    });
    tx();
  }

  startExecution(e: {
    runId: number;
    key: string;
    nodeId: string;
    stage: string;
    stageVersion: number;
    codeDigest: string;
    params: string;
    inputs: string;
    host: string;
  }): number {
    const r = this.db
      .prepare(
        `INSERT INTO executions (run_id, node_key, node_id, stage, stage_version, code_digest, params, inputs, status, started_at, host)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(e.runId, e.key, e.nodeId, e.stage, e.stageVersion, e.codeDigest, e.params, e.inputs, now(), e.host);
    return Number(r.lastInsertRowid);
  }

  setExecutionHandle(id: number, handle: string): void {
    this.stmt('UPDATE executions SET handle = ? WHERE id = ?').run(handle, id);
  }

  /**
   * The latest execution of a key with a handle that no driver watches any more: 'interrupted'
   * (its driver died), or 'running' with a driver on another host (the caller holds the node's
   * lock, so that driver is gone too).
   */
  orphanedExecution(key: string): ExecutionRow | undefined {
    return this.stmt(
      "SELECT * FROM executions WHERE node_key = ? AND handle IS NOT NULL AND (status = 'running' OR (status = 'interrupted' AND error = ?)) ORDER BY id DESC LIMIT 1",
    ).get(key, DETACHED) as ExecutionRow | undefined;
  }

  /** Moves an orphaned execution to this run (reattached); its series are replayed from the job's events. */
  adoptExecution(id: number, runId: number): void {
    const tx = this.db.transaction(() => {
      this.stmt("UPDATE executions SET run_id = ?, status = 'running', ended_at = NULL, error = NULL WHERE id = ?").run(runId, id);
      this.stmt('DELETE FROM series WHERE execution_id = ?').run(id);
    });
    tx();
  }

  /** Closes an orphaned execution that could not be reattached (its job ended without a result): never tried again. */
  noteExecution(id: number, note: string): void {
    this.stmt("UPDATE executions SET status = 'interrupted', ended_at = COALESCE(ended_at, ?), error = ? WHERE id = ?").run(now(), `driver died; ${note}`, id);
  }

  setExecutionPid(id: number, pid: number): void {
    this.stmt('UPDATE executions SET pid = ? WHERE id = ?').run(pid, id);
  }

  endExecution(
    id: number,
    r: {
      status: Exclude<ExecutionStatus, 'running'>;
      durationS: number;
      environment?: unknown;
      exitCode?: number | null;
      signal?: string | null;
      error?: string | null;
      metrics?: unknown;
    },
  ): void {
    this.db
      .prepare(
        `UPDATE executions SET status = ?, ended_at = ?, duration_s = ?, environment = ?, exit_code = ?, signal = ?, error = ?, metrics = ?
         WHERE id = ?`,
      )
      .run(
        r.status,
        now(),
        r.durationS,
        r.environment === undefined ? null : JSON.stringify(r.environment),
        r.exitCode ?? null,
        r.signal ?? null,
        r.error ?? null,
        r.metrics === undefined ? null : JSON.stringify(r.metrics),
        id,
      );
  }

  addSeries(executionId: number, name: string, step: number, values: Readonly<Record<string, unknown>>): void {
    this.stmt('INSERT INTO series (execution_id, name, step, vals) VALUES (?, ?, ?, ?)').run(executionId, name, step, JSON.stringify(values));
  }

  /** Registers a finished node, its outputs and edges in one transaction. */
  register(r: Registration): void {
    const tx = this.db.transaction(() => {
      const ts = now();
      this.db
        .prepare(
          `INSERT OR REPLACE INTO nodes (key, node_id, stage, stage_version, code_digest, params, execution_id, registered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(r.key, r.nodeId, r.stage, r.stageVersion, r.codeDigest, r.params, r.executionId, ts);
      this.stmt('DELETE FROM outputs WHERE node_key = ?').run(r.key);
      this.stmt('DELETE FROM edges WHERE node_key = ?').run(r.key);
      for (const [name, ref] of Object.entries(r.outputs)) {
        this.stmt('INSERT INTO outputs (node_key, name, digest, kind, size) VALUES (?, ?, ?, ?, ?)').run(r.key, name, ref.digest, ref.kind, ref.size);
        this.stmt('INSERT OR IGNORE INTO artifacts (digest, kind, size, created_at) VALUES (?, ?, ?, ?)').run(ref.digest, ref.kind, ref.size, ts);
      }
      for (const e of r.edges) {
        this.db
          .prepare('INSERT INTO edges (node_key, input, from_key, from_node_id, from_output, digest) VALUES (?, ?, ?, ?, ?, ?)')
          .run(r.key, e.input, e.from_key, e.from_node_id, e.from_output, e.digest);
      }
    });
    tx();
  }

  /** Forgets a registration (its outputs turned out missing or corrupt). */
  unregister(key: string): void {
    const tx = this.db.transaction(() => {
      this.stmt('DELETE FROM nodes WHERE key = ?').run(key);
      this.stmt('DELETE FROM outputs WHERE node_key = ?').run(key);
      this.stmt('DELETE FROM edges WHERE node_key = ?').run(key);
    });
    tx();
  }

  node(key: string): NodeRow | undefined {
    return this.stmt('SELECT * FROM nodes WHERE key = ?').get(key) as NodeRow | undefined;
  }

  /** The most recent registration of a readable node id (for dry-run explanations). */
  latestNodeById(nodeId: string): NodeRow | undefined {
    return this.stmt('SELECT * FROM nodes WHERE node_id = ? ORDER BY registered_at DESC, rowid DESC LIMIT 1').get(nodeId) as NodeRow | undefined;
  }

  nodesByIdPrefix(prefix: string): NodeRow[] {
    return this.stmt('SELECT * FROM nodes WHERE node_id = ? OR key LIKE ? ORDER BY registered_at DESC').all(prefix, `${prefix}%`) as NodeRow[];
  }

  /**
   * A cache lookup in one query (a no-op run makes one per node): the node's outputs with the
   * recorded stat of each output's blob (null when none is recorded); undefined if the key is not
   * registered.
   */
  registeredOutputs(key: string): Array<{ output: OutputRow; stat: BlobStatRow | null }> | undefined {
    const rows = this.stmt(
      `SELECT n.key AS node_key, o.name AS name, o.digest AS digest, o.kind AS kind, o.size AS size,
              b.size AS stat_size, b.ino AS stat_ino, b.ctime_ns AS stat_ctime_ns
       FROM nodes n LEFT JOIN outputs o ON o.node_key = n.key LEFT JOIN blob_stats b ON b.digest = o.digest
       WHERE n.key = ? ORDER BY o.name`,
    ).all(key) as Array<OutputRow & { name: string | null; stat_size: number | null; stat_ino: string | null; stat_ctime_ns: string | null }>;
    if (rows.length === 0) return undefined;
    return rows
      .filter((r) => r.name !== null)
      .map((r) => ({
        output: { node_key: r.node_key, name: r.name, digest: r.digest, kind: r.kind, size: r.size },
        stat: r.stat_size === null ? null : { digest: r.digest, size: r.stat_size, ino: r.stat_ino!, ctime_ns: r.stat_ctime_ns! },
      }));
  }

  outputs(key: string): OutputRow[] {
    return this.stmt('SELECT * FROM outputs WHERE node_key = ? ORDER BY name').all(key) as OutputRow[];
  }

  outputsByDigestPrefix(prefix: string): OutputRow[] {
    return this.stmt('SELECT * FROM outputs WHERE digest LIKE ?').all(`${prefix}%`) as OutputRow[];
  }

  edges(key: string): EdgeRow[] {
    return this.stmt('SELECT * FROM edges WHERE node_key = ? ORDER BY input').all(key) as EdgeRow[];
  }

  execution(id: number): ExecutionRow | undefined {
    return this.stmt('SELECT * FROM executions WHERE id = ?').get(id) as ExecutionRow | undefined;
  }

  executionsOfKey(key: string): ExecutionRow[] {
    return this.stmt('SELECT * FROM executions WHERE node_key = ? ORDER BY id').all(key) as ExecutionRow[];
  }

  /** Succeeded executions with a recorded duration, newest first (what calibrates plan estimates). */
  succeededExecutions(): Pick<ExecutionRow, 'id' | 'stage' | 'params' | 'duration_s' | 'environment'>[] {
    return this.stmt(
      "SELECT id, stage, params, duration_s, environment FROM executions WHERE status = 'succeeded' AND duration_s IS NOT NULL ORDER BY id DESC",
    ).all() as Pick<ExecutionRow, 'id' | 'stage' | 'params' | 'duration_s' | 'environment'>[];
  }

  executionsOfRun(runId: number): ExecutionRow[] {
    return this.stmt('SELECT * FROM executions WHERE run_id = ? ORDER BY id').all(runId) as ExecutionRow[];
  }

  series(executionId: number): SeriesRow[] {
    return this.stmt('SELECT * FROM series WHERE execution_id = ? ORDER BY name, step').all(executionId) as SeriesRow[];
  }

  run(id: number): RunRow | undefined {
    return this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  runs(limit: number, dryRuns = true): RunRow[] {
    const where = dryRuns ? '' : "WHERE status != 'dry run' ";
    return this.stmt(`SELECT * FROM runs ${where}ORDER BY id DESC LIMIT ?`).all(limit) as RunRow[];
  }

  dryRunCount(): number {
    return (this.stmt("SELECT COUNT(*) AS n FROM runs WHERE status = 'dry run'").get() as { n: number }).n;
  }

  allNodes(): NodeRow[] {
    return this.stmt('SELECT * FROM nodes').all() as NodeRow[];
  }

  allOutputs(): OutputRow[] {
    return this.stmt('SELECT * FROM outputs').all() as OutputRow[];
  }

  countExecutions(status?: ExecutionStatus): number {
    const row = status
      ? (this.stmt('SELECT COUNT(*) AS n FROM executions WHERE status = ?').get(status) as { n: number })
      : (this.stmt('SELECT COUNT(*) AS n FROM executions').get() as { n: number });
    return row.n;
  }

  blobStat(digest: string): BlobStatRow | undefined {
    return this.stmt('SELECT * FROM blob_stats WHERE digest = ?').get(digest) as BlobStatRow | undefined;
  }

  setBlobStat(row: BlobStatRow): void {
    this.stmt('INSERT OR REPLACE INTO blob_stats (digest, size, ino, ctime_ns) VALUES (?, ?, ?, ?)').run(row.digest, row.size, row.ino, row.ctime_ns);
  }

  forgetBlobStat(digest: string): void {
    this.stmt('DELETE FROM blob_stats WHERE digest = ?').run(digest);
  }

  forgetArtifact(digest: string): void {
    this.stmt('DELETE FROM artifacts WHERE digest = ?').run(digest);
  }
}
