import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, digestOf } from '../core/canonical-json.ts';
import type { LineageDb } from '../state/db.ts';
import type { ReproListener } from './events.ts';
import type { EstimateRecord, Estimator } from '../plan/estimates.ts';
import type { Execution, Executor } from '../exec/executor.ts';
import { pathLengths, PrioritySemaphore } from '../plan/critical-path.ts';
import type { CheckedGraph, CheckedNode } from '../plan/graph.ts';
import type { Integrity } from '../state/integrity.ts';
import { LockTimeoutError, type NodeLocks } from '../state/lock.ts';
import { refsOf, type NodeRef, type NodeSpec, type Project } from '../core/project.ts';
import type { SourceDigests } from '../core/source-digest.ts';
import type { ArtifactRef, BlobStore } from '../state/store.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * The scheduler behind `repro`. Each node resolves once per run, after its inputs: its key is the
 * hash of its stage (name, version, code), its parameters and its inputs' content digests. A
 * registered key whose blobs are intact is a cache hit; anything else runs in a worker, under a
 * per-key lock, with at most `jobs` workers at once. Because keys use input *content*, an upstream
 * rerun that reproduces the same bytes leaves everything downstream cached.
 */

export interface ReproOptions {
  readonly dryRun: boolean;
  /** Stage names or node ids to rerun even when cached. */
  readonly force: readonly string[];
  readonly jobs: number;
  readonly keepGoing: boolean;
  /** Give up on a node whose lock another run holds for longer than this (default: wait). */
  readonly lockTimeoutS?: number;
}

export interface ReproContext {
  readonly project: Project;
  readonly graph: CheckedGraph;
  readonly artifactsDir: string;
  readonly db: LineageDb;
  readonly store: BlobStore;
  readonly integrity: Integrity;
  readonly executor: Executor;
  readonly locks: NodeLocks;
  readonly digests: SourceDigests;
  readonly runId: number;
  readonly host: string;
  readonly listener: ReproListener;
  /** Environment for workers that do not inherit the driver's (batch jobs get it in their manifest). */
  readonly workerEnv?: Readonly<Record<string, string>>;
  /** Calibrated plan estimates (engine/plan/estimates.ts); without one, the stages' formulas alone. */
  readonly estimator?: Estimator;
}

/** How a node stands after resolution. `outputs` is absent only for dry-run nodes that would run. */
interface Resolved {
  readonly key: string | undefined;
  readonly outputs: Readonly<Record<string, ArtifactRef>> | undefined;
  readonly ran: boolean;
}

export interface ReproSummary {
  readonly cached: number;
  readonly ran: number;
  readonly wouldRun: number;
  readonly failed: number;
  readonly skipped: number;
  readonly estimateSeconds: number;
  /** Output artifacts of the requested nodes that are up to date (cached or just run). */
  readonly outputs: ReadonlyMap<string, Readonly<Record<string, ArtifactRef>>>;
}

/** One attempt at running a node, from launch to its recorded outcome. */
interface Attempt {
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

class NodeFailed extends Error {
  constructor(
    readonly nodeId: string,
    message: string,
  ) {
    super(message);
  }
}

/** One upstream ref of a node: `data`, or `evals[3]` for the fourth entry of a list input. */
interface InputSlot {
  readonly name: string;
  readonly index: number | undefined;
  readonly label: string;
  readonly ref: NodeRef;
}

function inputSlots(spec: NodeSpec): InputSlot[] {
  return Object.entries(spec.inputs ?? {}).flatMap(([name, given]): InputSlot[] =>
    Array.isArray(given)
      ? (given as readonly NodeRef[]).map((ref, index) => ({ name, index, label: `${name}[${index}]`, ref }))
      : [{ name, index: undefined, label: name, ref: given as NodeRef }],
  );
}

/** Per-slot values regrouped by input name: a value for single inputs, a list for list inputs. */
function groupBySlot<T>(spec: NodeSpec, slots: readonly InputSlot[], values: readonly T[]): Record<string, T | T[]> {
  const out: Record<string, T | T[]> = {};
  for (const [name, decl] of Object.entries(spec.stage.inputs)) if (decl.many) out[name] = [];
  slots.forEach((slot, i) => {
    if (slot.index === undefined) out[slot.name] = values[i]!;
    else (out[slot.name] as T[])[slot.index] = values[i]!;
  });
  return out;
}

export function nodeKey(parts: {
  stage: string;
  version: number;
  code: string;
  params: unknown;
  inputs: Readonly<Record<string, string | readonly string[]>>;
}): string {
  return digestOf({ stage: parts.stage, version: parts.version, code: parts.code, params: parts.params, inputs: parts.inputs });
}

/** Flattens nested params into dotted keys for readable diffs. */
function flatten(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = JSON.stringify(v);
  }
  return out;
}

export class Repro {
  private readonly memo = new Map<string, Promise<Resolved>>();
  private readonly forcedDone = new Set<string>();
  private readonly running = new Set<{ kill(): void }>();
  /** The `jobs` worker slots, handed to the waiting node with the longest estimated path after it. */
  private readonly semaphore: PrioritySemaphore;
  /** The nodes this run needs (the requested ones and their ancestors). */
  private needed: readonly string[] = [];
  /** Per node: its path length and its own estimated seconds. */
  private priorities: Map<string, { priority: number; seconds: number }> | undefined;
  /** Lock acquisitions in progress at once (each holds file descriptors while it takes the lock). */
  private readonly lockTaking = new PrioritySemaphore(64);
  private stopReason: string | undefined;
  /** Aborted by interrupt(): ends waits for other runs' locks. */
  private readonly stop = new AbortController();
  private readonly counts = { cached: 0, ran: 0, wouldRun: 0, failed: 0, skipped: 0, estimateSeconds: 0 };

  constructor(
    private readonly ctx: ReproContext,
    private readonly options: ReproOptions,
  ) {
    this.semaphore = new PrioritySemaphore(Math.max(1, options.jobs));
  }

  /** Resolves every listed node (and, through them, their ancestors). */
  async run(ids: readonly string[]): Promise<ReproSummary> {
    this.needed = [...ids];
    this.priorities = undefined;
    const settled = await Promise.allSettled(ids.map((id) => this.resolve(id)));
    const outputs = new Map<string, Readonly<Record<string, ArtifactRef>>>();
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled' && r.value.outputs) outputs.set(ids[i]!, r.value.outputs);
    });
    return { ...this.counts, outputs };
  }

  /** Stops everything now (Ctrl-C): running workers are killed and their executions marked interrupted. */
  interrupt(): void {
    this.stopReason = 'interrupted';
    this.stop.abort();
    for (const r of this.running) r.kill();
  }

  /**
   * Estimated seconds of the longest chain from this node to the end of the run (engine/plan/critical-path.ts),
   * computed once, when the first node is about to run (a run that only hits the cache never needs it).
   */
  private priority(id: string): { priority: number; seconds: number } {
    if (this.priorities === undefined) {
      const { graph } = this.ctx;
      const work = new Map<string, { seconds: number; deps: string[] }>();
      const queue = [...this.needed];
      for (let id2 = queue.pop(); id2 !== undefined; id2 = queue.pop()) {
        if (work.has(id2)) continue;
        const node = graph.nodes.get(id2);
        if (node === undefined) continue;
        const deps = Object.values(node.spec.inputs ?? {}).flatMap((given) => refsOf(given).map((r) => r.node));
        work.set(id2, { seconds: this.estimateOf(node), deps });
        queue.push(...deps);
      }
      const lengths = pathLengths(work);
      this.priorities = new Map([...work].map(([k, w]) => [k, { priority: lengths.get(k) ?? 0, seconds: w.seconds }]));
    }
    return this.priorities.get(id) ?? { priority: 0, seconds: 0 };
  }

  private estimateOf(node: CheckedNode): number {
    const s = this.ctx.estimator
      ? this.ctx.estimator.estimate(node.spec, node.params)?.seconds
      : node.spec.stage.estimateSeconds?.(node.params as never, node.spec.estimateHints ?? {});
    return s !== undefined && Number.isFinite(s) && s > 0 ? s : 0;
  }

  private resolve(id: string): Promise<Resolved> {
    let p = this.memo.get(id);
    if (p === undefined) {
      p = this.resolveNode(id);
      this.memo.set(id, p);
      // Failures are reported where they happen; dependents see the rejection.
      p.catch(() => {});
    }
    return p;
  }

  private cachedHit(id: string, key: string, outputs: Readonly<Record<string, ArtifactRef>>): Resolved {
    this.counts.cached++;
    this.ctx.listener({ type: 'cached', node: id, key });
    return { key, outputs, ran: false };
  }

  private isForced(node: CheckedNode): boolean {
    if (this.forcedDone.has(node.spec.id)) return false;
    return this.options.force.includes(node.spec.id) || this.options.force.includes(node.spec.stage.name);
  }

  private async resolveNode(id: string, attempt = 0): Promise<Resolved> {
    const { graph, listener } = this.ctx;
    const node = graph.nodes.get(id)!;
    const spec = node.spec;
    const code = this.ctx.digests.of(spec.stage.module).digest;

    // Inputs first, all at once (so --jobs can run independent upstream nodes side by side). A
    // failed upstream skips this node.
    const slots = inputSlots(spec);
    const settled = await Promise.allSettled(slots.map((slot) => this.resolve(slot.ref.node)));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      const e: unknown = failure.reason;
      this.counts.skipped++;
      const reason = e instanceof NodeFailed ? `upstream ${e.nodeId} failed` : String(e);
      listener({ type: 'skipped', node: id, reason });
      throw new NodeFailed(e instanceof NodeFailed ? e.nodeId : id, reason);
    }
    const upstream = settled.map((r) => (r as PromiseFulfilledResult<Resolved>).value);

    const pending = slots.filter((_, i) => upstream[i]!.outputs === undefined);
    if (pending.length > 0) {
      // Dry run: an upstream would run, so this node's key is not knowable yet.
      const upstreamIds = [...new Set(pending.map((slot) => slot.ref.node))];
      const reasons =
        pending.length <= 3
          ? pending.map((slot) => `input '${slot.label}' comes from ${slot.ref.node}, which would run (this node reruns unless its bytes come out identical)`)
          : [
              `${pending.length} inputs come from ${upstreamIds.length} nodes that would run (${upstreamIds.slice(0, 2).join(', ')}, …); this node reruns unless their bytes come out identical`,
            ];
      return this.wouldRun(node, undefined, reasons);
    }

    const artifacts = slots.map((slot, i) => upstream[i]!.outputs![slot.ref.output]!);
    const inputDigests = groupBySlot(
      spec,
      slots,
      artifacts.map((a) => a.digest),
    );
    const key = nodeKey({ stage: spec.stage.name, version: spec.stage.version, code, params: node.params, inputs: inputDigests });
    const forced = this.isForced(node);

    if (!forced) {
      const hit = await this.lookup(key, id);
      if (hit.outputs) return this.cachedHit(id, key, hit.outputs);
      if (this.options.dryRun) return this.wouldRun(node, key, hit.reasons ?? this.explain(node, key, code, inputDigests));
    } else if (this.options.dryRun) {
      return this.wouldRun(node, key, ['forced']);
    }

    if (this.stopReason !== undefined) {
      this.counts.skipped++;
      listener({ type: 'skipped', node: id, reason: this.stopReason });
      throw new NodeFailed(id, this.stopReason);
    }

    // A worker slot first (served longest estimated path first), then the lock. Only nodes that
    // must run get here, so cache hits never queue. The slot is handed on one macrotask after this
    // node settles: by then the nodes that were waiting on it alone have computed their keys and
    // queued too, so a node on the critical path competes with the waiting ones for the slot its
    // input freed instead of arriving just after a short node took it.
    const reads = artifacts.map((a) => a.digest);
    const releaseSlot = await this.semaphore.acquire({ ...this.priority(id), reads });
    let slotHeld = true;
    let wrote: readonly string[] = [];
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      const touched = [...reads, ...wrote];
      setImmediate(() => releaseSlot(touched));
    };
    try {
      if (this.stopReason !== undefined) {
        this.counts.skipped++;
        listener({ type: 'skipped', node: id, reason: this.stopReason });
        throw new NodeFailed(id, this.stopReason);
      }
      const resolved = await this.runLocked(node, key, code, slots, artifacts, upstream, inputDigests, forced, attempt, freeSlot);
      wrote = Object.values(resolved.outputs ?? {}).map((a) => a.digest);
      return resolved;
    } finally {
      freeSlot();
    }
  }

  /** Under the node's lock: a last cache look, the inputs rehashed, then the execution. */
  private async runLocked(
    node: CheckedNode,
    key: string,
    code: string,
    slots: readonly InputSlot[],
    artifacts: readonly ArtifactRef[],
    upstream: readonly Resolved[],
    inputDigests: Record<string, string | string[]>,
    forced: boolean,
    attempt: number,
    freeSlot: () => void,
  ): Promise<Resolved> {
    const id = node.spec.id;
    const { listener } = this.ctx;
    const release = await this.acquireLock(key, id);
    try {
      if (!forced) {
        // Another run may have produced it while we waited for the lock.
        const hit = await this.lookup(key, id);
        if (hit.outputs) return this.cachedHit(id, key, hit.outputs);
      }
      // Inputs are rehashed before a run reads them; a corrupt one sends its producer back to work.
      for (const [i, slot] of slots.entries()) {
        const check = await this.ctx.integrity.check(artifacts[i]!, true);
        if (check.state !== 'ok') {
          if (attempt >= 2) throw new NodeFailed(id, `input '${slot.label}' is ${check.state} again after recomputing ${slot.ref.node}`);
          this.ctx.db.unregister(upstream[i]!.key!);
          listener({
            type: 'repaired',
            node: slot.ref.node,
            message: `output '${slot.ref.output}' (blob ${check.bad[0]!.slice(0, 12)}) was ${check.state}; recomputing ${slot.ref.node}`,
          });
          this.memo.delete(slot.ref.node);
          await release();
          // The producer must get a slot to run again.
          freeSlot();
          return this.resolveNode(id, attempt + 1);
        }
      }
      const reasons = forced ? ['forced'] : this.explain(node, key, code, inputDigests);
      if (forced) this.forcedDone.add(id);
      const outputs = await this.execute(
        node,
        key,
        code,
        slots,
        artifacts,
        upstream.map((r) => r.key!),
        reasons,
      );
      return { key, outputs, ran: true };
    } finally {
      await release();
    }
  }

  /** The node's lock; an interrupt while waiting skips the node, a lock timeout fails it. */
  private async acquireLock(key: string, id: string): Promise<() => Promise<void>> {
    const timeoutMs = this.options.lockTimeoutS === undefined ? undefined : this.options.lockTimeoutS * 1000;
    // Taking a lock opens, writes and links files; thousands of nodes that become ready at once
    // (10,000-node graphs) would otherwise run out of file descriptors (EMFILE).
    const slot = await this.lockTaking.acquire();
    try {
      return await this.ctx.locks.acquire(
        key,
        id,
        (holder) =>
          this.ctx.listener({
            type: 'waiting',
            node: id,
            holder,
            ...(holder && holder.runId === this.ctx.runId && holder.host === this.ctx.host && holder.pid === process.pid ? { sameRun: true } : {}),
          }),
        {
          signal: this.stop.signal,
          timeoutMs,
        },
      );
    } catch (e) {
      if (e instanceof LockTimeoutError) {
        this.counts.failed++;
        this.ctx.listener({ type: 'failed', node: id, error: e.message, logFile: undefined });
        if (!this.options.keepGoing && this.stopReason === undefined)
          this.stopReason = `stopped after ${id} failed (use --keep-going to continue independent nodes)`;
        throw new NodeFailed(id, e.message);
      }
      if (this.stop.signal.aborted) {
        this.counts.skipped++;
        this.ctx.listener({ type: 'skipped', node: id, reason: this.stopReason ?? 'interrupted' });
        throw new NodeFailed(id, this.stopReason ?? 'interrupted');
      }
      throw e;
    } finally {
      slot();
    }
  }

  private wouldRun(node: CheckedNode, key: string | undefined, reasons: readonly string[]): Resolved {
    const e = this.ctx.estimator
      ? this.ctx.estimator.estimate(node.spec, node.params)
      : (() => {
          const seconds = node.spec.stage.estimateSeconds?.(node.params as never, node.spec.estimateHints ?? {});
          return seconds === undefined ? undefined : { seconds, samples: 0, basis: undefined };
        })();
    this.counts.wouldRun++;
    if (e !== undefined) this.counts.estimateSeconds += e.seconds;
    this.ctx.listener({
      type: 'would-run',
      node: node.spec.id,
      key,
      reasons,
      estimateSeconds: e?.seconds,
      ...(e && e.samples > 0 ? { calibration: { samples: e.samples, basis: e.basis ?? '' } } : {}),
    });
    return { key, outputs: undefined, ran: false };
  }

  /** A hit needs the registration and every output blob intact (stat, or rehash if touched). */
  private async lookup(key: string, id: string): Promise<{ outputs?: Record<string, ArtifactRef>; reasons?: string[] }> {
    const registered = this.ctx.db.registeredOutputs(key);
    if (registered === undefined) return {};
    const outputs: Record<string, ArtifactRef> = {};
    for (const { output: o, stat } of registered) {
      const ref: ArtifactRef = { digest: o.digest, kind: o.kind, size: o.size };
      const check = await this.ctx.integrity.check(ref, false, this.options.dryRun, stat);
      if (check.state !== 'ok') {
        if (!this.options.dryRun) this.ctx.db.unregister(key);
        const message = `output '${o.name}' (blob ${check.bad[0]!.slice(0, 12)}) is ${check.state}`;
        if (!this.options.dryRun) this.ctx.listener({ type: 'repaired', node: id, message: `${message}; recomputing` });
        return { reasons: [message] };
      }
      outputs[o.name] = ref;
    }
    return { outputs };
  }

  /** Why a node must run, by comparison with the last registered result of the same node id. */
  private explain(node: CheckedNode, key: string, code: string, inputs: Readonly<Record<string, string | readonly string[]>>): string[] {
    const prev = this.ctx.db.latestNodeById(node.spec.id);
    if (prev === undefined) return ['never run'];
    if (prev.key === key) return ['result not registered'];
    const reasons: string[] = [];
    if (prev.stage_version !== node.spec.stage.version) reasons.push(`stage version ${prev.stage_version} -> ${node.spec.stage.version}`);
    if (prev.code_digest !== code) reasons.push(`code of stage '${node.spec.stage.name}' changed`);
    const before = flatten(JSON.parse(prev.params) as unknown);
    const after = flatten(JSON.parse(canonicalJson(node.params)) as unknown);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).sort();
    for (const k of changed.slice(0, 6)) reasons.push(`param ${k || '(all)'}: ${before[k] ?? '(absent)'} -> ${after[k] ?? '(absent)'}`);
    if (changed.length > 6) reasons.push(`… and ${changed.length - 6} more params`);
    const prevEdges = new Map(this.ctx.db.edges(prev.key).map((e) => [e.input, e]));
    const slots = inputSlots(node.spec);
    const labels = new Set(slots.map((s) => s.label));
    for (const slot of slots) {
      const e = prevEdges.get(slot.label);
      const digest = slot.index === undefined ? inputs[slot.name] : (inputs[slot.name] as readonly string[])[slot.index];
      if (e === undefined) reasons.push(`input '${slot.label}' added (from ${slot.ref.node})`);
      else if (e.digest !== digest) reasons.push(`input '${slot.label}' changed (from ${slot.ref.node})`);
    }
    for (const label of prevEdges.keys()) if (!labels.has(label)) reasons.push(`input '${label}' removed`);
    return reasons.length > 0 ? reasons : ['result not registered'];
  }

  private async execute(
    node: CheckedNode,
    key: string,
    code: string,
    slots: readonly InputSlot[],
    inputs: readonly ArtifactRef[],
    upstreamKeys: readonly string[],
    reasons: readonly string[],
  ): Promise<Record<string, ArtifactRef>> {
    const attempt = await this.launch(node, key, code, slots, inputs, reasons);
    this.running.add(attempt.execution);
    let outcome: ExecOutcome;
    try {
      outcome = await attempt.execution.outcome;
    } finally {
      this.running.delete(attempt.execution);
    }
    try {
      if (!outcome.ok) return await this.recordFailure(node, attempt, outcome);
      return await this.registerSuccess(node, key, code, slots, inputs, upstreamKeys, attempt, outcome);
    } finally {
      // Interrupted executions keep their files: a later driver may reattach to them.
      if (this.stopReason !== 'interrupted') await attempt.execution.dispose?.().catch(() => {});
    }
  }

  /** Stages the node's folders, records the execution as running, and starts the worker. */
  private async launch(
    node: CheckedNode,
    key: string,
    code: string,
    slots: readonly InputSlot[],
    inputs: readonly ArtifactRef[],
    reasons: readonly string[],
  ): Promise<Attempt> {
    const { db, store, listener, artifactsDir } = this.ctx;
    const spec = node.spec;
    const adopted = await this.reattach(node, key, reasons);
    if (adopted !== undefined) return adopted;
    const staging = await store.stagingDir(spec.id);
    const scratchDir = join(artifactsDir, 'scratch', key);
    const paths: string[] = [];
    for (const ref of inputs) paths.push(await store.materialize(ref));
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
      inputs: canonicalJson(slots.map((slot, i) => ({ input: slot.label, ...slot.ref, digest: inputs[i]!.digest }))),
      host: this.ctx.host,
    });
    const logFile = this.logFileOf(execId, spec.id);
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
    const env: Attempt['env'] = { facts: undefined };
    const started = Date.now();
    listener({ type: 'start', node: spec.id, key, reasons });
    const inputRefs = groupBySlot(
      spec,
      slots,
      inputs.map((r) => ({ digest: r.digest, kind: r.kind })),
    );
    const outputKinds = Object.fromEntries(Object.entries(spec.stage.outputs).map(([name, d]) => [name, d.kind]));
    const execution = this.ctx.executor.execute(task, this.onMessage(spec.id, execId, env), logFile, {
      inputRefs,
      outputKinds,
      env: this.ctx.workerEnv ?? {},
    });
    if (execution.pid !== undefined) db.setExecutionPid(execId, execution.pid);
    // Recorded the moment the job is queued, so a driver started after a crash finds it again.
    void execution.handle?.then((h) => h !== undefined && db.setExecutionHandle(execId, h));
    const estimate = this.ctx.estimator?.record(spec, node.params);
    return { execId, staging, scratchDir, logFile, outputPaths, paramsJson, started, env, estimate, execution };
  }

  private logFileOf(execId: number, nodeId: string): string {
    return join(this.ctx.artifactsDir, 'logs', `${execId}-${nodeId.replace(/[^A-Za-z0-9._@-]/g, '_')}.log`);
  }

  private onMessage(nodeId: string, execId: number, env: Attempt['env']): (m: WorkerMessage) => void {
    const { db, listener } = this.ctx;
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
  private async reattach(node: CheckedNode, key: string, reasons: readonly string[]): Promise<Attempt | undefined> {
    const { db, executor, listener, artifactsDir } = this.ctx;
    if (executor.reattach === undefined) return undefined;
    const prior = db.orphanedExecution(key);
    if (prior === undefined || prior.handle === null) return undefined;
    const env: Attempt['env'] = { facts: undefined };
    const logFile = this.logFileOf(prior.id, node.spec.id);
    // Series are replayed from the job's event file from the start.
    const execution = await executor.reattach(prior.handle, this.onMessage(node.spec.id, prior.id, env), logFile).catch(() => undefined);
    if (execution === undefined) {
      db.noteExecution(prior.id, `its job ended without a result while no driver watched (run ${this.ctx.runId} started the node again)`);
      return undefined;
    }
    db.adoptExecution(prior.id, this.ctx.runId);
    listener({ type: 'start', node: node.spec.id, key, reasons: [...reasons, `reattached to its earlier job (execution ${prior.id})`] });
    return {
      execId: prior.id,
      staging: await this.ctx.store.stagingDir(node.spec.id),
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
  private async recordFailure(node: CheckedNode, a: Attempt, outcome: Extract<ExecOutcome, { ok: false }>): Promise<never> {
    const id = node.spec.id;
    const interrupted = this.stopReason === 'interrupted';
    this.ctx.db.endExecution(a.execId, {
      status: interrupted ? 'interrupted' : 'failed',
      durationS: (Date.now() - a.started) / 1000,
      environment: withEstimate(a),
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      error: outcome.error,
    });
    await rm(a.staging, { recursive: true, force: true });
    this.counts.failed++;
    this.ctx.listener({ type: 'failed', node: id, error: outcome.error, logFile: a.logFile });
    if (!this.options.keepGoing && this.stopReason === undefined)
      this.stopReason = `stopped after ${id} failed (use --keep-going to continue independent nodes)`;
    throw new NodeFailed(id, outcome.error);
  }

  /** Every blob is stored and fsynced before the registration that makes it a cache entry. */
  private async registerSuccess(
    node: CheckedNode,
    key: string,
    code: string,
    slots: readonly InputSlot[],
    inputs: readonly ArtifactRef[],
    upstreamKeys: readonly string[],
    a: Attempt,
    done: Extract<ExecOutcome, { ok: true }>,
  ): Promise<Record<string, ArtifactRef>> {
    const { db, store } = this.ctx;
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
          return this.recordFailure(node, a, { ok: false, error: `output '${name}' ${problem}: refused, nothing registered`, exitCode: null, signal: null });
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
        digest: inputs[i]!.digest,
      })),
    });
    await rm(a.staging, { recursive: true, force: true });
    await rm(a.scratchDir, { recursive: true, force: true });
    this.counts.ran++;
    this.ctx.listener({ type: 'done', node: spec.id, key, seconds });
    return outputs;
  }
}

function withEstimate(a: Attempt): Record<string, unknown> | undefined {
  return a.estimate === undefined ? a.env.facts : { ...a.env.facts, estimate: a.estimate };
}

export async function ensureDirs(artifactsDir: string): Promise<void> {
  await mkdir(join(artifactsDir, 'logs'), { recursive: true });
  await mkdir(join(artifactsDir, 'scratch'), { recursive: true });
}
