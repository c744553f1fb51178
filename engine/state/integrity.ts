import { statSync } from 'node:fs';
import type { BlobStatRow, LineageDb } from './db.ts';
import type { ArtifactRef, BlobState, BlobStore } from './store.ts';

/**
 * Decides whether stored artifacts can be trusted. On a cache hit, a blob whose size, inode and
 * ctime match what was recorded when it was last hashed is trusted by stat alone (cheap enough for
 * a no-op run over hundreds of nodes); any write to the file changes its ctime, so a flipped byte
 * forces a rehash and is caught. Inputs about to be read by a run are always rehashed.
 * A blob found corrupt is deleted, so that no later run can read it.
 */
export class Integrity {
  constructor(
    private readonly store: BlobStore,
    private readonly db: LineageDb,
  ) {}

  /**
   * Synchronous on purpose: one stat of a local file is a few microseconds, while the promise
   * version goes through the thread pool and cost a no-op over 571 nodes ~40 ms of the main
   * thread's time on two cores (measured with bench/dag-noop.ts).
   */
  private fingerprint(digest: string): { size: number; ino: string; ctime_ns: string } | undefined {
    try {
      const st = statSync(this.store.blobPath(digest), { bigint: true });
      return { size: Number(st.size), ino: String(st.ino), ctime_ns: String(st.ctimeNs) };
    } catch {
      return undefined;
    }
  }

  /** Records the current stat of blobs just hashed (after ingest or a successful verification). */
  async remember(digests: readonly string[]): Promise<void> {
    for (const d of digests) {
      const fp = this.fingerprint(d);
      if (fp !== undefined) this.db.setBlobStat({ digest: d, ...fp });
    }
  }

  /** `recorded`: the blob's row in blob_stats when the caller already read it (null: there is none). */
  private async checkBlob(digest: string, full: boolean, readOnly: boolean, recorded?: BlobStatRow | null): Promise<BlobState> {
    const fp = this.fingerprint(digest);
    if (fp === undefined) return 'missing';
    const known = recorded === undefined ? this.db.blobStat(digest) : (recorded ?? undefined);
    if (!full && known !== undefined && known.size === fp.size && known.ino === fp.ino && known.ctime_ns === fp.ctime_ns) return 'ok';
    const state = await this.store.verifyBlob(digest);
    if (state === 'ok' && !readOnly) this.db.setBlobStat({ digest, ...fp });
    return state;
  }

  /**
   * `full`: rehash every blob; otherwise rehash only blobs whose stat changed. Bad blobs are
   * deleted unless `readOnly` (a dry run must change nothing). `recorded`: the stat recorded for
   * `ref.digest`, if the caller read it already (LineageDb.registeredOutputs).
   */
  async check(
    ref: Pick<ArtifactRef, 'digest' | 'kind'>,
    full: boolean,
    readOnly = false,
    recorded?: BlobStatRow | null,
  ): Promise<{ state: BlobState; bad: string[] }> {
    const bad: string[] = [];
    let missing = false;
    const manifestState = await this.checkBlob(ref.digest, full, readOnly, recorded);
    if (manifestState !== 'ok') return readOnly ? { state: manifestState, bad: [ref.digest] } : this.condemn([ref.digest], manifestState);
    const members = ref.kind === 'dir' ? (await this.store.readTree(ref.digest)).map((e) => e.digest) : [];
    for (const d of members) {
      const s = await this.checkBlob(d, full, readOnly);
      if (s === 'missing') missing = true;
      if (s !== 'ok') bad.push(d);
    }
    if (bad.length === 0) return { state: 'ok', bad };
    const state: BlobState = missing ? 'missing' : 'corrupt';
    return readOnly ? { state, bad } : this.condemn(bad, state);
  }

  private async condemn(digests: string[], state: BlobState): Promise<{ state: BlobState; bad: string[] }> {
    for (const d of digests) {
      await this.store.discardBlob(d);
      this.db.forgetBlobStat(d);
    }
    // Folder views hard-link blobs, so a view holding a bad blob would still show the bad bytes:
    // those views are rebuilt on demand. Views of other trees stay (a running node may read them).
    const bad = new Set(digests);
    for (const view of await this.store.allTreeViews()) {
      const entries = bad.has(view) ? undefined : await this.store.readTree(view).catch(() => undefined);
      if (entries === undefined || entries.some((e) => bad.has(e.digest))) await this.store.removeTreeView(view);
    }
    return { state, bad: digests };
  }
}
