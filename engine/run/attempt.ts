import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../core/canonical-json.ts';
import type { EstimateRecord } from '../plan/estimates.ts';
import type { Execution, Executor } from '../exec/executor.ts';
import { groupBySlot, type CacheContext, type KeyedNode } from '../plan/cache.ts';
import type { NodeLocks } from '../state/lock.ts';
import type { ArtifactRef, BlobStore } from '../state/store.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * One attempt at running one node, from launch (or reattaching to a job an earlier driver left) to
 * its recorded outcome: a failure recorded, or every output stored, fsynced and registered. The
 * scheduler (repro.ts) decides when; an Attempt only carries one node run through.
 */

/** What running nodes needs beyond the cache: where, under which run, with which locks. */
export interface RunContext {
  readonly artifactsDir: string;
  readonly store: BlobStore;
  readonly executor: Executor;
  readonly locks: NodeLocks;
  readonly runId: number;
  readonly host: string;
  /** Environment for workers that do not inherit the driver's (batch jobs get it in their manifest). */
  readonly workerEnv?: Readonly<Record<string, string>>;
}

/** A keyed node that must run: its upstream keys (for the edges it registers) and why it runs. */
export interface NodeRun extends KeyedNode {
  readonly upstreamKeys: readonly string[];
  readonly reasons: readonly string[];
}

/** What an attempt tells its scheduler. */
export interface AttemptHooks {
  /** Interrupted (Ctrl-C): a failure is recorded as interrupted, and the execution's files kept. */
  interrupted(): boolean;
  /** An execution is live until the returned function is called (an interrupt kills live ones). */
  track(execution: Execution): () => void;
  failed(nodeId: string): void;
  ran(): void;
}

export class NodeFailed extends Error {
  constructor(
    readonly nodeId: string,
    message: string,
  ) {
    super(message);
  }
}

/** A launched execution and what its outcome is recorded with. */
interface Launched {
  readonly execId: number;
  readonly staging: string;
  readonly scratchDir: string;
  readonly logFile: string;
  readonly outputPaths: Record<string, string>;
  readonly paramsJson: string;
  readonly started: number;
  /** Facts the worker reported about where it ran (backend, threads). */
  readonly env: { facts: Record<string, unknown> | undefined };
  /** The estimate formula's value and similarity keys, recorded so later plans calibrate on it. */
  readonly estimate: EstimateRecord | undefined;
  readonly execution: Execution;
}

export class Attempt {
  constructor(
    private readonly ctx: CacheContext & RunContext,
    private readonly run: NodeRun,
    private readonly hooks: AttemptHooks,
  ) {}

  private get id(): string {
    return this.run.node.spec.id;
  }

  /** Runs the node; resolves to its registered outputs, or rejects with NodeFailed once recorded. */
  async execute(): Promise<Record<string, ArtifactRef>> {
    const a = (await this.reattach()) ?? (await this.launch());
    const untrack = this.hooks.track(a.execution);
    let outcome: ExecOutcome;
    try {
      outcome = await a.execution.outcome;
    } finally {
      untrack();
    }
    try {
      if (!outcome.ok) return await this.recordFailure(a, outcome);
      return await this.registerSuccess(a, outcome);
    } finally {
      // Interrupted executions keep their files: a later driver may reattach to them.
      if (!this.hooks.interrupted()) await a.execution.dispose?.().catch(() => {});
    }
  }

  /** Stages the node's folders, records the execution as running, and starts the worker. */
  private async launch(): Promise<Launched> {
    const { db, store, listener, artifactsDir } = this.ctx;
    const { node, key, code, slots, artifacts, reasons } = this.run;
    const spec = node.spec;
    const staging = await store.stagingDir(spec.id);
    const scratchDir = join(artifactsDir, 'scratch', key);
    const paths: string[] = [];
    for (const ref of artifacts) paths.push(await store.materialize(ref));
    const outputPaths = Object.fromEntries(Object.keys(spec.stage.outputs).map((name) => [name, join(staging, name)]));
    const paramsJson = canonicalJson(node.params);
    const execId = db.startExecution({
      runId: this.ctx.runId,
      key,
      nodeId: spec.id,
      stage: spec.stage.name,
      stageVersion: spec.stage.version,
      codeDigest: code,
      params: paramsJson,
      inputs: canonicalJson(slots.map((slot, i) => ({ input: slot.label, ...slot.ref, digest: artifacts[i]!.digest }))),
      host: this.ctx.host,
    });
    const logFile = this.logFileOf(execId);
    const task: NodeTask = {
      projectModule: this.ctx.project.module,
      stage: spec.stage.name,
      nodeId: spec.id,
      nodeKey: key,
      codeDigest: code,
      params: node.params,
      inputs: groupBySlot(spec, slots, paths),
      outputs: outputPaths,
      scratchDir,
    };
    const env: Launched['env'] = { facts: undefined };
    const started = Date.now();
    listener({ type: 'start', node: spec.id, key, reasons });
    const inputRefs = groupBySlot(
      spec,
      slots,
      artifacts.map((r) => ({ digest: r.digest, kind: r.kind })),
    );
    const outputKinds = Object.fromEntries(Object.entries(spec.stage.outputs).map(([name, d]) => [name, d.kind]));
    const execution = this.ctx.executor.execute(task, this.onMessage(execId, env), logFile, {
      inputRefs,
      outputKinds,
      env: this.ctx.workerEnv ?? {},
    });
    if (execution.pid !== undefined) db.setExecutionPid(execId, execution.pid);
    // Recorded before the job is submitted (provisional), then the moment it is queued, so a driver
    // started after a crash finds it again, however early the crash came.
    if (execution.provisionalHandle !== undefined) db.setExecutionHandle(execId, execution.provisionalHandle);
    void execution.handle?.then((h) => h !== undefined && db.setExecutionHandle(execId, h));
    const estimate = this.ctx.estimator?.record(spec, node.params);
    return { execId, staging, scratchDir, logFile, outputPaths, paramsJson, started, env, estimate, execution };
  }

  private logFileOf(execId: number): string {
    return join(this.ctx.artifactsDir, 'logs', `${execId}-${this.id.replace(/[^A-Za-z0-9._@-]/g, '_')}.log`);
  }

  private onMessage(execId: number, env: Launched['env']): (m: WorkerMessage) => void {
    const { db, listener } = this.ctx;
    const nodeId = this.id;
    return (m) => {
      if (m.type === 'progress') listener({ type: 'progress', node: nodeId, event: m.event });
      else if (m.type === 'log') listener({ type: 'log', node: nodeId, message: m.message });
      else if (m.type === 'environment') env.facts = { ...env.facts, ...m.facts };
      else if (m.type === 'series') db.addSeries(execId, m.name, m.step, m.values);
    };
  }

  /**
   * An execution of this key that an earlier driver left behind (killed, crashed) and that may
   * still deliver (a Slurm job still queued or running, or finished with an uncollected result)
   * is taken over instead of starting another: its row moves to this run. We hold the node's lock,
   * so no live driver watches it.
   */
  private async reattach(): Promise<Launched | undefined> {
    const { db, executor, listener, artifactsDir } = this.ctx;
    const { node, key, reasons } = this.run;
    if (executor.reattach === undefined) return undefined;
    const prior = db.orphanedExecution(key);
    if (prior === undefined || prior.handle === null) return undefined;
    const env: Launched['env'] = { facts: undefined };
    const logFile = this.logFileOf(prior.id);
    // Series are replayed from the job's event file from the start.
    const execution = await executor.reattach(prior.handle, this.onMessage(prior.id, env), logFile).catch(() => undefined);
    if (execution === undefined) {
      db.noteExecution(prior.id, `its job ended without a result while no driver watched (run ${this.ctx.runId} started the node again)`);
      return undefined;
    }
    db.adoptExecution(prior.id, this.ctx.runId);
    listener({ type: 'start', node: this.id, key, reasons: [...reasons, `reattached to its earlier job (execution ${prior.id})`] });
    return {
      execId: prior.id,
      staging: await this.ctx.store.stagingDir(this.id),
      scratchDir: join(artifactsDir, 'scratch', key),
      logFile,
      outputPaths: {},
      paramsJson: canonicalJson(node.params),
      started: Date.parse(prior.started_at),
      env,
      estimate: this.ctx.estimator?.record(node.spec, node.params),
      execution,
    };
  }

  /** A failed or interrupted attempt is recorded, never registered; its scratch folder stays for a resume. */
  private async recordFailure(a: Launched, outcome: Extract<ExecOutcome, { ok: false }>): Promise<never> {
    this.ctx.db.endExecution(a.execId, {
      status: this.hooks.interrupted() ? 'interrupted' : 'failed',
      durationS: (Date.now() - a.started) / 1000,
      environment: withEstimate(a),
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      error: outcome.error,
    });
    await rm(a.staging, { recursive: true, force: true });
    this.ctx.listener({ type: 'failed', node: this.id, error: outcome.error, logFile: a.logFile });
    this.hooks.failed(this.id);
    throw new NodeFailed(this.id, outcome.error);
  }

  /** Every blob is stored and fsynced before the registration that makes it a cache entry. */
  private async registerSuccess(a: Launched, done: Extract<ExecOutcome, { ok: true }>): Promise<Record<string, ArtifactRef>> {
    const { db, store } = this.ctx;
    const { node, key, code, slots, artifacts, upstreamKeys } = this.run;
    const spec = node.spec;
    const outputs: Record<string, ArtifactRef> = {};
    for (const [name, decl] of Object.entries(spec.stage.outputs)) {
      let ref: ArtifactRef;
      if (done.stored !== undefined) {
        // Stored by a job on another host: registered only if every blob rehashes to what it claims.
        const claimed = done.stored[name];
        const problem =
          claimed === undefined
            ? "is missing from the job's result"
            : claimed.kind !== decl.kind
              ? `is a ${claimed.kind}, declared a ${decl.kind}`
              : await store
                  .verify(claimed)
                  .then((v) => (v.state === 'ok' ? undefined : `is ${v.state} (blob ${v.bad[0]!.slice(0, 12)} does not match its digest)`));
        if (problem !== undefined) {
          for (const d of claimed ? await store.blobsOf(claimed).catch(() => [claimed.digest]) : []) {
            if ((await store.verifyBlob(d)) === 'corrupt') await store.discardBlob(d);
          }
          return this.recordFailure(a, { ok: false, error: `output '${name}' ${problem}: refused, nothing registered`, exitCode: null, signal: null });
        }
        ref = claimed!;
      } else {
        ref = await store.ingest(a.outputPaths[name]!, decl.kind);
      }
      await this.ctx.integrity.remember(await store.blobsOf(ref));
      outputs[name] = ref;
    }
    const seconds = done.durationS ?? (Date.now() - a.started) / 1000;
    const environment = done.environment ? { ...done.environment, ...withEstimate(a) } : withEstimate(a);
    db.endExecution(a.execId, { status: 'succeeded', durationS: seconds, environment, metrics: done.metrics });
    db.register({
      key,
      nodeId: spec.id,
      stage: spec.stage.name,
      stageVersion: spec.stage.version,
      codeDigest: code,
      params: a.paramsJson,
      executionId: a.execId,
      outputs,
      edges: slots.map((slot, i) => ({
        input: slot.label,
        from_key: upstreamKeys[i]!,
        from_node_id: slot.ref.node,
        from_output: slot.ref.output,
        digest: artifacts[i]!.digest,
      })),
    });
    await rm(a.staging, { recursive: true, force: true });
    await rm(a.scratchDir, { recursive: true, force: true });
    this.hooks.ran();
    this.ctx.listener({ type: 'done', node: spec.id, key, seconds });
    return outputs;
  }
}

function withEstimate(a: Launched): Record<string, unknown> | undefined {
  return a.estimate === undefined ? a.env.facts : { ...a.env.facts, estimate: a.estimate };
}
