import { refsOf } from '../core/project.ts';
import { NodeCache, inputSlots, type CacheContext, type KeyedNode } from '../plan/cache.ts';
import { priorities, PrioritySemaphore } from '../plan/critical-path.ts';
import type { CheckedNode } from '../plan/graph.ts';
import { LockTimeoutError } from '../state/lock.ts';
import type { ArtifactRef } from '../state/store.ts';
import { Attempt, NodeFailed, type RunContext } from './attempt.ts';

/**
 * The scheduler behind `repro`. Each node resolves once per run, after its inputs: a cache hit
 * (plan/cache.ts) or, outside a dry run, an Attempt (attempt.ts) under the node's lock, with at
 * most `jobs` running at once, longest estimated path first. Because keys use input *content*, an
 * upstream rerun that reproduces the same bytes leaves everything downstream cached.
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

/** The cache's context, and where nodes run: absent for a dry run, which runs nothing. */
export interface ReproContext extends CacheContext {
  readonly run?: RunContext;
}

/** How a node stands after resolution. `outputs` is absent only for dry-run nodes that would run. */
interface Resolved {
  readonly key: string | undefined;
  readonly outputs: Readonly<Record<string, ArtifactRef>> | undefined;
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

export class Repro {
  private readonly cache: NodeCache;
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
    this.cache = new NodeCache(ctx);
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
   * Estimated seconds of the longest chain from this node to the end of the run (plan/critical-path.ts),
   * computed once, when the first node is about to run (a run that only hits the cache never needs it).
   */
  private priority(id: string): { priority: number; seconds: number } {
    this.priorities ??= priorities(this.needed, (next) => {
      const node = this.ctx.graph.nodes.get(next);
      const deps = Object.values(node?.spec.inputs ?? {}).flatMap((given) => refsOf(given).map((r) => r.node));
      return node && { seconds: this.cache.estimate(node)?.seconds ?? 0, deps };
    });
    return this.priorities.get(id) ?? { priority: 0, seconds: 0 };
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
    return { key, outputs };
  }

  private skip(id: string, reason: string, blame = id): never {
    this.counts.skipped++;
    this.ctx.listener({ type: 'skipped', node: id, reason });
    throw new NodeFailed(blame, reason);
  }

  private isForced(node: CheckedNode): boolean {
    if (this.forcedDone.has(node.spec.id)) return false;
    return this.options.force.includes(node.spec.id) || this.options.force.includes(node.spec.stage.name);
  }

  private async resolveNode(id: string, attempt = 0): Promise<Resolved> {
    const node = this.ctx.graph.nodes.get(id)!;
    // Inputs first, all at once (so --jobs can run independent upstream nodes side by side). A
    // failed upstream skips this node.
    const slots = inputSlots(node.spec);
    const settled = await Promise.allSettled(slots.map((slot) => this.resolve(slot.ref.node)));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      const e: unknown = failure.reason;
      this.skip(id, e instanceof NodeFailed ? `upstream ${e.nodeId} failed` : String(e), e instanceof NodeFailed ? e.nodeId : id);
    }
    const upstream = settled.map((r) => (r as PromiseFulfilledResult<Resolved>).value);
    const pending = slots.filter((_, i) => upstream[i]!.outputs === undefined);
    // Dry run: an upstream would run, so this node's key is not knowable yet.
    if (pending.length > 0) return this.wouldRun(node, undefined, this.cache.pendingReasons(pending));

    const keyed = this.cache.keyed(
      node,
      slots,
      upstream.map((u) => u.outputs!),
    );
    const forced = this.isForced(node);
    if (!forced) {
      const hit = await this.cache.lookup(keyed.key, id, this.options.dryRun);
      if (hit.outputs) return this.cachedHit(id, keyed.key, hit.outputs);
      if (this.options.dryRun) return this.wouldRun(node, keyed.key, hit.reasons ?? this.cache.explain(keyed));
    } else if (this.options.dryRun) {
      return this.wouldRun(node, keyed.key, ['forced']);
    }
    const run = this.ctx.run;
    if (run === undefined) throw new Error(`${id} must run, but this scheduler was given nowhere to run nodes (a dry run's context)`);
    if (this.stopReason !== undefined) this.skip(id, this.stopReason);

    // A worker slot first (served longest estimated path first), then the lock. Only nodes that
    // must run get here, so cache hits never queue. The slot is handed on one macrotask after this
    // node settles: by then the nodes that were waiting on it alone have computed their keys and
    // queued too, so a node on the critical path competes with the waiting ones for the slot its
    // input freed instead of arriving just after a short node took it.
    const reads = keyed.artifacts.map((a) => a.digest);
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
      if (this.stopReason !== undefined) this.skip(id, this.stopReason);
      const resolved = await this.runLocked(run, keyed, upstream, forced, attempt, freeSlot);
      wrote = Object.values(resolved.outputs ?? {}).map((a) => a.digest);
      return resolved;
    } finally {
      freeSlot();
    }
  }

  /** Under the node's lock: a last cache look, the inputs rehashed, then the attempt. */
  private async runLocked(
    run: RunContext,
    keyed: KeyedNode,
    upstream: readonly Resolved[],
    forced: boolean,
    attempt: number,
    freeSlot: () => void,
  ): Promise<Resolved> {
    const { node, key, slots, artifacts } = keyed;
    const id = node.spec.id;
    const release = await this.acquireLock(run, key, id);
    try {
      if (!forced) {
        // Another run may have produced it while we waited for the lock.
        const hit = await this.cache.lookup(key, id, false);
        if (hit.outputs) return this.cachedHit(id, key, hit.outputs);
      }
      // Inputs are rehashed before a run reads them; a corrupt one sends its producer back to work.
      for (const [i, slot] of slots.entries()) {
        const check = await this.ctx.integrity.check(artifacts[i]!, true);
        if (check.state !== 'ok') {
          if (attempt >= 2) throw new NodeFailed(id, `input '${slot.label}' is ${check.state} again after recomputing ${slot.ref.node}`);
          this.ctx.db.unregister(upstream[i]!.key!);
          this.ctx.listener({
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
      const reasons = forced ? ['forced'] : this.cache.explain(keyed);
      if (forced) this.forcedDone.add(id);
      const nodeRun = { ...keyed, upstreamKeys: upstream.map((r) => r.key!), reasons };
      const outputs = await new Attempt({ ...this.ctx, ...run }, nodeRun, {
        interrupted: () => this.stopReason === 'interrupted',
        track: (execution) => {
          this.running.add(execution);
          return () => this.running.delete(execution);
        },
        failed: (nodeId) => this.failed(nodeId),
        ran: () => this.counts.ran++,
      }).execute();
      return { key, outputs };
    } finally {
      await release();
    }
  }

  private failed(id: string): void {
    this.counts.failed++;
    if (!this.options.keepGoing && this.stopReason === undefined)
      this.stopReason = `stopped after ${id} failed (use --keep-going to continue independent nodes)`;
  }

  /** The node's lock; an interrupt while waiting skips the node, a lock timeout fails it. */
  private async acquireLock(run: RunContext, key: string, id: string): Promise<() => Promise<void>> {
    const timeoutMs = this.options.lockTimeoutS === undefined ? undefined : this.options.lockTimeoutS * 1000;
    // Taking a lock opens, writes and links files; thousands of nodes that become ready at once
    // (10,000-node graphs) would otherwise run out of file descriptors (EMFILE).
    const slot = await this.lockTaking.acquire();
    try {
      return await run.locks.acquire(
        key,
        id,
        (holder) =>
          this.ctx.listener({
            type: 'waiting',
            node: id,
            holder,
            ...(holder && holder.runId === run.runId && holder.host === run.host && holder.pid === process.pid ? { sameRun: true } : {}),
          }),
        { signal: this.stop.signal, timeoutMs },
      );
    } catch (e) {
      if (e instanceof LockTimeoutError) {
        this.ctx.listener({ type: 'failed', node: id, error: e.message, logFile: undefined });
        this.failed(id);
        throw new NodeFailed(id, e.message);
      }
      if (this.stop.signal.aborted) this.skip(id, this.stopReason ?? 'interrupted');
      throw e;
    } finally {
      slot();
    }
  }

  private wouldRun(node: CheckedNode, key: string | undefined, reasons: readonly string[]): Resolved {
    const e = this.cache.estimate(node);
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
    return { key, outputs: undefined };
  }
}
