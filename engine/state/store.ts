import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, copyFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { canonicalJson } from '../core/canonical-json.ts';
import type { ArtifactKind } from '../core/stage.ts';

/**
 * Content-addressed blobs under `artifacts/`. A file output is one blob named by its sha256; a
 * folder output is a tree: a manifest blob (canonical JSON listing each file's path and digest)
 * whose digest names the folder. Blobs are written to a temporary path, fsynced, renamed into
 * place and made read-only; the caller registers them in SQLite only after every blob of a node is
 * in place, so the database never points at a half-written artifact.
 */

export interface ArtifactRef {
  readonly digest: string;
  readonly kind: ArtifactKind;
  /** Total bytes (for a tree, the sum of its files). */
  readonly size: number;
}

export interface TreeEntry {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

interface TreeManifest {
  readonly kind: 'tree';
  readonly entries: readonly TreeEntry[];
}

export type BlobState = 'ok' | 'missing' | 'corrupt';

export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: h.digest('hex'), size };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
    else throw new Error(`output folder holds ${p}, which is neither a file nor a folder`);
  }
  return out;
}

const stagingName = (pid: number, host: string, label: string, rand: string): string => `${pid}+${host}+${label}+${rand}`;

/** Owner of a staging folder; `host` is undefined for the older `<pid>-<label>-<random>` names (this host's). */
export function parseStagingName(name: string): { pid: number; host: string | undefined; label: string } | undefined {
  const parts = name.split('+');
  if (parts.length === 4) {
    const pid = Number(parts[0]);
    return Number.isInteger(pid) ? { pid, host: parts[1]!, label: parts[2]! } : undefined;
  }
  const pid = Number(name.split('-')[0]);
  return Number.isInteger(pid) && pid > 0 ? { pid, host: undefined, label: name.slice(name.indexOf('-') + 1) } : undefined;
}

export class BlobStore {
  readonly blobsDir: string;
  readonly treesDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.treesDir = join(root, 'trees');
    this.tmpDir = join(root, 'tmp');
  }

  blobPath(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: '${digest}'`);
    return join(this.blobsDir, digest.slice(0, 2), digest.slice(2));
  }

  /**
   * A fresh private folder for staging outputs, named after the owning process and its host
   * (`<pid>+<host>+<label>+<random>`): several hosts share this folder on a cluster, and a pid
   * means something only on the host that issued it.
   */
  async stagingDir(label: string): Promise<string> {
    const safe = label.replace(/[^A-Za-z0-9._@-]/g, '_');
    const dir = join(this.tmpDir, stagingName(process.pid, hostname(), safe, randomBytes(4).toString('hex')));
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Moves a finished file into the store; the source path is consumed. */
  async ingestFile(path: string): Promise<ArtifactRef> {
    await fsyncPath(path);
    const { digest, size } = await hashFile(path);
    const target = this.blobPath(digest);
    if (await exists(target)) {
      await unlink(path);
    } else {
      await mkdir(dirname(target), { recursive: true });
      await chmod(path, 0o444);
      await rename(path, target);
      await fsyncPath(dirname(target));
    }
    return { digest, kind: 'file', size };
  }

  /** Moves every file of a finished folder into the store, then stores its manifest. */
  async ingestDir(dir: string): Promise<ArtifactRef> {
    const files = (await listFiles(dir)).sort();
    const entries: TreeEntry[] = [];
    for (const f of files) {
      const ref = await this.ingestFile(f);
      entries.push({ path: relative(dir, f).split(sep).join('/'), digest: ref.digest, size: ref.size });
    }
    const manifest: TreeManifest = { kind: 'tree', entries };
    const manifestPath = join(dirname(dir), `.${randomBytes(4).toString('hex')}.tree.json`);
    const fh = await open(manifestPath, 'w');
    try {
      await fh.writeFile(canonicalJson(manifest));
      await fh.sync();
    } finally {
      await fh.close();
    }
    const ref = await this.ingestFile(manifestPath);
    await rm(dir, { recursive: true, force: true });
    return { digest: ref.digest, kind: 'dir', size: entries.reduce((s, e) => s + e.size, 0) };
  }

  async ingest(path: string, kind: ArtifactKind): Promise<ArtifactRef> {
    return kind === 'file' ? this.ingestFile(path) : this.ingestDir(path);
  }

  async readTree(digest: string): Promise<TreeEntry[]> {
    const manifest = JSON.parse(await readFile(this.blobPath(digest), 'utf8')) as TreeManifest;
    if (manifest.kind !== 'tree' || !Array.isArray(manifest.entries)) throw new Error(`blob ${digest} is not a tree manifest`);
    return [...manifest.entries];
  }

  /** Blob digests an artifact consists of (the manifest too, for a tree). */
  async blobsOf(ref: Pick<ArtifactRef, 'digest' | 'kind'>): Promise<string[]> {
    if (ref.kind === 'file') return [ref.digest];
    return [ref.digest, ...(await this.readTree(ref.digest)).map((e) => e.digest)];
  }

  /** A cheap check: every blob is present with the expected size (tree members included). */
  async quickCheck(ref: ArtifactRef): Promise<BlobState> {
    try {
      if (ref.kind === 'file') {
        const st = await stat(this.blobPath(ref.digest));
        return st.size === ref.size ? 'ok' : 'corrupt';
      }
      const entries = await this.readTree(ref.digest);
      for (const e of entries) {
        const st = await stat(this.blobPath(e.digest));
        if (st.size !== e.size) return 'corrupt';
      }
      return 'ok';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'corrupt';
    }
  }

  /** Rehashes every blob of an artifact. */
  async verify(ref: Pick<ArtifactRef, 'digest' | 'kind'>): Promise<{ state: BlobState; bad: string[] }> {
    const bad: string[] = [];
    let missing = false;
    let digests: string[];
    try {
      digests = await this.blobsOf(ref);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing', bad: [ref.digest] };
      return { state: 'corrupt', bad: [ref.digest] };
    }
    for (const d of digests) {
      const state = await this.verifyBlob(d);
      if (state === 'missing') missing = true;
      if (state !== 'ok') bad.push(d);
    }
    return { state: bad.length === 0 ? 'ok' : missing ? 'missing' : 'corrupt', bad };
  }

  async verifyBlob(digest: string): Promise<BlobState> {
    try {
      return (await hashFile(this.blobPath(digest))).digest === digest ? 'ok' : 'corrupt';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'corrupt';
    }
  }

  /** Removes a blob found corrupt so that nothing reads it again. */
  async discardBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /**
   * A readable path for an artifact: the blob itself for a file; for a tree, a folder of
   * hard links to its blobs, built in a temporary folder and renamed into place whole.
   */
  async materialize(ref: Pick<ArtifactRef, 'digest' | 'kind'>): Promise<string> {
    if (ref.kind === 'file') return this.blobPath(ref.digest);
    const target = join(this.treesDir, ref.digest);
    if (await exists(target)) return target;
    const entries = await this.readTree(ref.digest);
    const tmp = join(this.treesDir, `.tmp-${ref.digest.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    for (const e of entries) {
      const dest = join(tmp, ...e.path.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      try {
        await link(this.blobPath(e.digest), dest);
      } catch {
        await copyFile(this.blobPath(e.digest), dest);
      }
    }
    await mkdir(tmp, { recursive: true });
    try {
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (!(await exists(target))) throw e;
    }
    return target;
  }

  /** Every blob digest present on disk. */
  async allBlobs(): Promise<string[]> {
    const out: string[] = [];
    if (!(await exists(this.blobsDir))) return out;
    for (const prefix of await readdir(this.blobsDir)) {
      for (const rest of await readdir(join(this.blobsDir, prefix))) out.push(prefix + rest);
    }
    return out;
  }

  async allTreeViews(): Promise<string[]> {
    if (!(await exists(this.treesDir))) return [];
    return (await readdir(this.treesDir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
  }

  /** Half-built views (`.tmp-*`) last modified before `olderThanMs` ago: left by a killed process. */
  async leftoverViewFolders(olderThanMs: number): Promise<string[]> {
    if (!(await exists(this.treesDir))) return [];
    const out: string[] = [];
    for (const name of await readdir(this.treesDir)) {
      if (!name.startsWith('.tmp-')) continue;
      const st = await stat(join(this.treesDir, name)).catch(() => undefined);
      if (st !== undefined && Date.now() - st.mtimeMs > olderThanMs) out.push(join(this.treesDir, name));
    }
    return out;
  }

  async removeTreeView(digest: string): Promise<void> {
    await rm(join(this.treesDir, digest), { recursive: true, force: true });
  }

  /**
   * Removes staging folders left by processes that no longer run (a crash, a kill -9). Only this
   * host's processes can be probed: another host's folder is removed only once it is older than
   * `foreignMaxAgeMs` (longer than any job may run), since its owner may be computing right now.
   */
  async clearStaleStaging(isAlive: (pid: number) => boolean, foreignMaxAgeMs = 14 * 86400_000): Promise<void> {
    if (!(await exists(this.tmpDir))) return;
    const me = hostname();
    for (const name of await readdir(this.tmpDir)) {
      const owner = parseStagingName(name);
      const path = join(this.tmpDir, name);
      if (owner === undefined) {
        await rm(path, { recursive: true, force: true });
      } else if (owner.host === undefined || owner.host === me) {
        if (!isAlive(owner.pid)) await rm(path, { recursive: true, force: true });
      } else {
        const st = await lstat(path).catch(() => undefined);
        if (st !== undefined && Date.now() - st.mtimeMs > foreignMaxAgeMs) await rm(path, { recursive: true, force: true });
      }
    }
  }

  /** Removes staging folders whose label starts with `prefix` (a finished job's, found by its id). */
  async removeStaging(labelPrefix: string): Promise<void> {
    if (!(await exists(this.tmpDir))) return;
    for (const name of await readdir(this.tmpDir)) {
      if (parseStagingName(name)?.label.startsWith(labelPrefix)) await rm(join(this.tmpDir, name), { recursive: true, force: true });
    }
  }
}
