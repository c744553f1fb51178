import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { LineageDb } from '../engine/state/db.ts';
import { parseParams, resolveProfile } from '../engine/plan/params.ts';
import { parseSbatchOutput, parseSqueue } from '../engine/exec/slurm/commands.ts';
import { checkStageNames, formatSlurmTime, parseSlurmTime, sbatchResourceArgs, slurmSettingsSchema } from '../engine/exec/slurm/config.ts';
import { formatHandle, parseHandle } from '../engine/exec/slurm/executor.ts';
import { defineStage } from '../engine/core/stage.ts';
import { BlobStore, parseStagingName } from '../engine/state/store.ts';

/** The parts of the Slurm executor that need no cluster: settings, resource flags, parsing, multi-host staging. */

const stage = (name: string, estimate?: number) =>
  defineStage({
    name,
    version: 1,
    module: import.meta.url,
    description: name,
    params: z.object({}).strict(),
    inputs: {},
    outputs: { out: { kind: 'file' } },
    ...(estimate !== undefined ? { estimateSeconds: () => estimate } : {}),
    async run() {},
  });

test('Slurm times parse and format as Slurm writes them', () => {
  assert.equal(parseSlurmTime('30'), 1800);
  assert.equal(parseSlurmTime('5:30'), 330);
  assert.equal(parseSlurmTime('02:00:00'), 7200);
  assert.equal(parseSlurmTime('1-12'), 86400 + 12 * 3600);
  assert.equal(parseSlurmTime('2-01:30:00'), 2 * 86400 + 3600 + 1800);
  assert.equal(formatSlurmTime(61), '00:02:00');
  assert.equal(formatSlurmTime(90061), '1-01:02:00');
  for (const s of [59, 3600, 86400 * 3 + 7]) assert.ok(parseSlurmTime(formatSlurmTime(s)) >= s);
});

test('resources: per-stage entries over defaults; time from the estimate; GPUs as --gres or --gpus', () => {
  const settings = slurmSettingsSchema.parse({
    partition: 'cpu',
    account: 'lab',
    qos: 'normal',
    mem: '8G',
    extra: ['--exclusive'],
    stages: { train: { gpus: 1, partition: 'gpu', cpus: 8, mem: 32000, extra: ['--constraint=a100'] } },
  });
  assert.deepEqual(sbatchResourceArgs(settings, stage('train', 4 * 3600), {}), [
    '--cpus-per-task=8',
    '--mem=32000M',
    '--time=12:00:00',
    '--gres=gpu:1',
    '--partition=gpu',
    '--account=lab',
    '--qos=normal',
    '--exclusive',
    '--constraint=a100',
  ]);
  // No estimate: the minimum time; no GPU flag without GPUs.
  assert.deepEqual(sbatchResourceArgs(settings, stage('table'), {}), [
    '--cpus-per-task=1',
    '--mem=8G',
    '--time=00:10:00',
    '--partition=cpu',
    '--account=lab',
    '--qos=normal',
    '--exclusive',
  ]);
  const gpus = slurmSettingsSchema.parse({ gpuFlag: 'gpus', gpus: 2, time: '1-00:00:00' });
  assert.deepEqual(sbatchResourceArgs(gpus, stage('train', 10), {}), ['--cpus-per-task=1', '--mem=2G', '--time=1-00:00:00', '--gpus=2']);
});

test('a bad slurm: mapping is a clear error naming the params.yaml key', () => {
  const schema = z.object({ slurm: slurmSettingsSchema }).strict();
  const bad = (yaml: string) => () => resolveProfile(parseParams(`profiles:\n  p:\n    slurm: ${yaml}\n`), 'p', schema);
  assert.throws(bad('{ mem: lots }'), /profiles\.p\.slurm\.mem: .*memory size/);
  assert.throws(bad("{ time: '2 hours' }"), /profiles\.p\.slurm\.time: .*Slurm time/);
  assert.throws(bad("{ maxPending: 'an hour' }"), /profiles\.p\.slurm\.maxPending: .*Slurm time/);
  assert.throws(bad('{ extra: [oops.sh] }'), /profiles\.p\.slurm\.extra\.0: .*sbatch option/);
  assert.throws(bad('{ stages: { train: { gpu: 1 } } }'), /profiles\.p\.slurm\.stages\.train\.gpu: unknown key/);
  assert.throws(bad('{ partiton: gpu }'), /profiles\.p\.slurm\.partiton: unknown key/);
  const typo = slurmSettingsSchema.parse({ stages: { trian: { gpus: 1 } } });
  assert.throws(() => checkStageNames(typo, [stage('train')], 'params.yaml: profiles.p'), /profiles\.p\.slurm\.stages\.trian: no such stage \(stages: train\)/);
});

test('sbatch and squeue output parsing', () => {
  assert.equal(parseSbatchOutput('1234\n'), '1234');
  assert.equal(parseSbatchOutput('sbatch: warning: something\n77;cluster2'), '77');
  assert.equal(parseSbatchOutput('Submitted batch job 5'), undefined);
  const q = parseSqueue('12|RUNNING|None\n13|PENDING|Resources\n14|CANCELLED+|None\n\n');
  assert.deepEqual([...q.keys()], ['12', '13', '14']);
  assert.equal(q.get('13')!.reason, 'Resources');
  assert.equal(q.get('14')!.state, 'CANCELLED');
  const h = formatHandle('42', '/a/artifacts/slurm/jobs/abc-1', '/a/artifacts');
  assert.equal(h, '42:slurm/jobs/abc-1');
  assert.deepEqual(parseHandle(h, '/a/artifacts'), { jobId: '42', dir: '/a/artifacts/slurm/jobs/abc-1' });
  assert.equal(parseHandle('garbage', '/a'), undefined);
});

test("staging folders are host-aware: another host's live job folder survives, this host's dead ones go", async () => {
  const root = mkdtempSync(join(tmpdir(), 'rf-staging-'));
  try {
    const store = new BlobStore(root);
    const mine = await store.stagingDir('train@x');
    assert.deepEqual(parseStagingName(mine.split('/').pop()!), { pid: process.pid, host: hostname(), label: 'train@x' });
    // A compute node's worker, whose pid (1) means nothing here; and a dead process of this host.
    const foreign = join(store.tmpDir, `1+node042.cluster+j99-train@y+abcd1234`);
    const deadHere = join(store.tmpDir, `999999+${hostname()}+train@z+abcd1234`);
    const oldStyleDead = join(store.tmpDir, `999998-train@w-abcd1234`);
    for (const d of [foreign, deadHere, oldStyleDead]) mkdirSync(d, { recursive: true });
    await store.clearStaleStaging((pid) => pid === process.pid);
    assert.ok(existsSync(mine), 'a live staging folder of this host was removed');
    assert.ok(existsSync(foreign), "another host's staging folder was removed on a local pid check");
    assert.ok(!existsSync(deadHere) && !existsSync(oldStyleDead), "a dead process's staging folder was kept");
    // Past the age limit (longer than any job runs), a foreign folder is stale too.
    await store.clearStaleStaging(() => true, -1);
    assert.ok(!existsSync(foreign));
    // A finished job's folder is found by its id.
    const job = join(store.tmpDir, `5+node7+j1234-gen@n1+00000000`);
    mkdirSync(job);
    await store.removeStaging('j1234-');
    assert.ok(!existsSync(job));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a lineage database from before execution handles opens and gains the column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-db-'));
  try {
    const path = join(dir, 'lineage.sqlite');
    const old = new Database(path);
    old.exec(`CREATE TABLE executions (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, node_key TEXT NOT NULL, node_id TEXT NOT NULL,
      stage TEXT NOT NULL, stage_version INTEGER NOT NULL, code_digest TEXT NOT NULL, params TEXT NOT NULL, inputs TEXT NOT NULL,
      status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, duration_s REAL, host TEXT, pid INTEGER, environment TEXT,
      exit_code INTEGER, signal TEXT, error TEXT, metrics TEXT)`);
    old.close();
    const db = new LineageDb(path);
    const runId = db.startRun('repro', null, [], 'h');
    const id = db.startExecution({ runId, key: 'k', nodeId: 'n', stage: 's', stageVersion: 1, codeDigest: 'c', params: '{}', inputs: '[]', host: 'h' });
    db.setExecutionHandle(id, '7:slurm/jobs/x');
    // Still 'running', its driver gone: reattachable; so after the next driver marks it interrupted.
    assert.equal(db.orphanedExecution('k')?.handle, '7:slurm/jobs/x');
    db.markDeadAsInterrupted('h', () => false);
    assert.equal(db.orphanedExecution('k')?.handle, '7:slurm/jobs/x');
    // One interrupted by Ctrl-C (its job cancelled) or closed after a failed reattach is not.
    db.noteExecution(id, 'its job ended without a result');
    assert.equal(db.orphanedExecution('k'), undefined);
    assert.equal(db.execution(id)!.status, 'interrupted');
    db.db.prepare("UPDATE executions SET status = 'running', error = NULL WHERE id = ?").run(id);
    db.endExecution(id, { status: 'interrupted', durationS: 1, error: 'interrupted' });
    assert.equal(db.orphanedExecution('k'), undefined);
    db.db
      .prepare("UPDATE executions SET status = 'interrupted', error = ? WHERE id = ?")
      .run('driver died; its job may still run (the next repro reattaches)', id);
    db.adoptExecution(id, runId + 1);
    assert.equal(db.execution(id)!.run_id, runId + 1);
    assert.equal(db.execution(id)!.status, 'running');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
