import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '../core/canonical-json.ts';
import { isAlive } from './process-alive.ts';

/**
 * One lock file per node key, so two `repro` runs (on one host or on several hosts sharing the
 * artifacts folder) never execute the same node at once. A second run waits (saying who holds the
 * lock) and then finds the result in the cache.
 *
 * Hand-written rather than `proper-lockfile`: that library's lock is a bare directory (no holder to
 * show a waiting user, nothing to tell a dead holder on this host from a live one), its stale check
 * compares the holder's mtime with the waiter's clock (hosts with skewed clocks disagree), and its
 * stale takeover lets two waiters remove and re-create the lock in turn. What we need is three
 * filesystem primitives, each atomic on local filesystems and NFS:
 *
 * - Taking: the holder is written to a private temporary file, which is then hard-linked to the
 *   lock path; `link` fails if the lock exists. The lock file therefore never exists without its
 *   holder in it (an empty or half-written lock cannot be mistaken for a stale one).
 * - Heartbeat: the holder touches the lock's mtime every `heartbeatMs`. A waiter calls a lock stale
 *   when its holder is a dead process of this host, or when the waiter has seen the lock's content
 *   and mtime stay unchanged for `staleMs` of the waiter's own clock (so clock skew between hosts
 *   does not matter, and a holder on another host that stops beating is recognised).
 * - Breaking: a waiter that finds a lock stale must first create a marker named after the stale
 *   lock's content (the holder's unique token); exactly one waiter can create it. The marker holder
 *   re-reads the lock and removes it only if it is still the very lock judged stale. Other waiters
 *   go back to waiting, and find the lock free or freshly held.
 */

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly runId: number;
  readonly nodeId: string;
  readonly since: string;
  /** Unique per acquisition: tells this holding apart from any earlier or later one. */
  readonly token?: string;
}

export type Release = () => Promise<void>;

export interface LockTiming {
  /** How often a holder refreshes its lock's mtime (default 5 s). */
  readonly heartbeatMs?: number;
  /** How long a waiter must see a lock unchanged before taking it for stale (default 60 s). */
  readonly staleMs?: number;
}

export interface AcquireOptions {
  /** Aborting (Ctrl-C) ends the wait: `acquire` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Give up after this long with a `LockTimeoutError` (default: wait for as long as it takes). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly nodeId: string,
    readonly holder: LockHolder | undefined,
    waitedMs: number,
  ) {
    super(`timed out after ${Math.round(waitedMs / 1000)} s waiting for the lock of ${nodeId}${holder ? ` (held by ${describeHolder(holder)})` : ''}`);
  }
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host}, run ${h.runId}, since ${h.since}`;
}

/** A lock file as a waiter saw it: its exact text and mtime. */
interface Seen {
  readonly text: string;
  readonly mtimeMs: number;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

export class NodeLocks {
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  /** path -> (content and mtime last seen, when first seen so): the waiter's stale clock. */
  private readonly observed = new Map<string, { fingerprint: string; since: number }>();

  constructor(
    private readonly dir: string,
    private readonly me: Omit<LockHolder, 'nodeId' | 'since' | 'token'>,
    timing: LockTiming = {},
  ) {
    this.heartbeatMs = timing.heartbeatMs ?? 5_000;
    this.staleMs = timing.staleMs ?? 60_000;
  }

  private path(key: string): string {
    return join(this.dir, `${key}.lock`);
  }

  async holder(key: string): Promise<LockHolder | undefined> {
    const seen = await read(this.path(key));
    return seen === undefined ? undefined : parseHolder(seen.text);
  }

  /** Takes the lock now if free (or stale); otherwise returns the current holder. */
  async tryAcquire(key: string, nodeId: string): Promise<{ release: Release } | { holder: LockHolder | undefined }> {
    await mkdir(this.dir, { recursive: true });
    const path = this.path(key);
    const text = JSON.stringify({ ...this.me, nodeId, since: new Date().toISOString(), token: randomUUID() } satisfies LockHolder);
    // A lock that vanishes between our failed create and our read is retried a few times at once.
    for (let i = 0; i < 5; i++) {
      if (await createExclusive(path, text)) return { release: this.hold(path, text) };
      const seen = await read(path);
      if (seen === undefined) continue;
      const holder = parseHolder(seen.text);
      if (!this.isStale(path, seen, holder)) return { holder };
      if (!(await this.breakStale(path, seen))) return { holder };
    }
    return { holder: undefined };
  }

  /**
   * Waits until the lock is ours, reporting the holder when first blocked and every 30 s. Rejects
   * with the signal's reason when `signal` aborts, or with `LockTimeoutError` after `timeoutMs`.
   */
  async acquire(key: string, nodeId: string, onWait: (holder: LockHolder | undefined) => void, options: AcquireOptions = {}): Promise<Release> {
    const { signal, timeoutMs, pollMs = 250 } = options;
    const started = Date.now();
    let lastReport = -Infinity;
    for (;;) {
      signal?.throwIfAborted();
      const r = await this.tryAcquire(key, nodeId);
      if ('release' in r) {
        if (signal?.aborted) {
          await r.release();
          signal.throwIfAborted();
        }
        return r.release;
      }
      const waited = Date.now() - started;
      if (timeoutMs !== undefined && waited >= timeoutMs) throw new LockTimeoutError(nodeId, r.holder, waited);
      if (Date.now() - lastReport > 30_000) {
        onWait(r.holder);
        lastReport = Date.now();
      }
      await sleep(timeoutMs === undefined ? pollMs : Math.max(1, Math.min(pollMs, timeoutMs - waited)), undefined, { signal });
    }
  }

  /** Dead holder on this host, or no change of content or mtime for `staleMs` as this waiter saw it. */
  private isStale(path: string, seen: Seen, holder: LockHolder | undefined): boolean {
    if (holder !== undefined && holder.host === this.me.host && !isAlive(holder.pid)) return true;
    const fingerprint = `${seen.mtimeMs}\n${seen.text}`;
    const o = this.observed.get(path);
    const now = performance.now();
    if (o === undefined || o.fingerprint !== fingerprint) {
      this.observed.set(path, { fingerprint, since: now });
      return false;
    }
    return now - o.since >= this.staleMs;
  }

  /**
   * Removes the stale lock `seen` if this waiter wins the right to (true: the lock is now gone, or
   * was already). The marker is named after the stale lock's content, so among all waiters that
   * judged that one lock stale, exactly one creates it.
   */
  private async breakStale(path: string, seen: Seen): Promise<boolean> {
    const marker = `${path}.break-${sha256(seen.text).slice(0, 16)}`;
    const mine = JSON.stringify({ ...this.me, nodeId: 'breaking a stale lock', since: new Date().toISOString(), token: randomUUID() } satisfies LockHolder);
    if (!(await createExclusive(marker, mine))) {
      // Another waiter is breaking it right now (we wait for the outcome), or died doing so: its
      // marker is then stale by the same rules, and removed so the break can be retried.
      const m = await read(marker);
      if (m !== undefined && this.isStale(marker, m, parseHolder(m.text))) await unlinkIf(marker, m.text);
      return false;
    }
    try {
      const now = await read(path);
      if (now === undefined) return true;
      if (now.text !== seen.text || now.mtimeMs !== seen.mtimeMs) return false;
      await unlink(path).catch(() => {});
      this.observed.delete(path);
      return true;
    } finally {
      await unlink(marker).catch(() => {});
    }
  }

  /** Starts the heartbeat of a lock we hold and returns its (idempotent) release. */
  private hold(path: string, text: string): Release {
    this.observed.delete(path);
    let released = false;
    const beat = async () => {
      const cur = await readFile(path, 'utf8').catch(() => undefined);
      // No longer ours (broken by a waiter that took us for dead): stop touching it.
      if (cur !== text) return clearInterval(timer);
      const t = new Date();
      await utimes(path, t, t).catch(() => {});
    };
    const timer = setInterval(() => void beat(), this.heartbeatMs);
    // The heartbeat must not keep a finished process alive.
    timer.unref();
    return async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      await unlinkIf(path, text);
    };
  }
}

/** Creates `path` holding `text`, atomically and only if it does not exist. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function read(path: string): Promise<Seen | undefined> {
  try {
    // mtime first: a heartbeat between the two reads then shows as a change at the next look.
    const { mtimeMs } = await stat(path);
    return { text: await readFile(path, 'utf8'), mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Removes `path` if it still holds `text` (a lock is only ever removed by whoever judged that very lock). */
async function unlinkIf(path: string, text: string): Promise<void> {
  const cur = await readFile(path, 'utf8').catch(() => undefined);
  if (cur === text) await unlink(path).catch(() => {});
}
