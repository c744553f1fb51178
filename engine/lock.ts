import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive } from './process-alive.ts';

/**
 * One lock file per node key, created exclusively, so two `repro` runs never execute the same node
 * at once. A second run waits (saying who holds the lock) and then finds the result in the cache.
 * A lock whose holder died on this host is stale and is taken over.
 */

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly runId: number;
  readonly nodeId: string;
  readonly since: string;
}

export type Release = () => Promise<void>;

export class NodeLocks {
  constructor(
    private readonly dir: string,
    private readonly me: Omit<LockHolder, 'nodeId' | 'since'>,
  ) {}

  private path(key: string): string {
    return join(this.dir, `${key}.lock`);
  }

  async holder(key: string): Promise<LockHolder | undefined> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8')) as LockHolder;
    } catch {
      return undefined;
    }
  }

  /** Takes the lock now if free (or stale); otherwise returns the current holder. */
  async tryAcquire(key: string, nodeId: string): Promise<{ release: Release } | { holder: LockHolder | undefined }> {
    await mkdir(this.dir, { recursive: true });
    const info: LockHolder = { ...this.me, nodeId, since: new Date().toISOString() };
    const text = JSON.stringify(info);
    try {
      const fh = await open(this.path(key), 'wx');
      await fh.writeFile(text);
      await fh.close();
      return {
        release: async () => {
          const cur = await readFile(this.path(key), 'utf8').catch(() => '');
          if (cur === text) await unlink(this.path(key)).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await this.holder(key);
    // An unreadable lock (crash between create and write) or a dead holder on this host is stale.
    if (holder === undefined || (holder.host === this.me.host && !isAlive(holder.pid))) {
      await unlink(this.path(key)).catch(() => {});
      return this.tryAcquire(key, nodeId);
    }
    return { holder };
  }

  /** Waits until the lock is ours, reporting the holder when first blocked and every 30 s. */
  async acquire(key: string, nodeId: string, onWait: (holder: LockHolder | undefined) => void, pollMs = 250): Promise<Release> {
    let lastReport = 0;
    for (;;) {
      const r = await this.tryAcquire(key, nodeId);
      if ('release' in r) return r.release;
      if (Date.now() - lastReport > 30_000) {
        onWait(r.holder);
        lastReport = Date.now();
      }
      await new Promise((res) => setTimeout(res, pollMs));
    }
  }
}
