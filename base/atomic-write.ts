import * as nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The one atomic writer of every layer (engine, ml, stages, reports): a temporary file in the same
 * folder, written whole and fsynced, renamed over the target, then the folder fsynced so the rename
 * itself survives a crash. A reader sees the old file or the whole new one, never a part, and a
 * failed write leaves neither a partial target nor its temporary file behind.
 */

/** The file-system calls the writer makes (node:fs by default; tests inject a recording one). */
export type AtomicFs = Pick<typeof nodeFs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync' | 'mkdirSync'>;

export interface AtomicWriteOptions {
  /** Permission bits of the new file (e.g. 0o755 for a script); default 0o666 less the umask. */
  readonly mode?: number;
  readonly fs?: AtomicFs;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const fs = options.fs ?? nodeFs;
  const dir = dirname(path);
  fs.mkdirSync(dir, { recursive: true });
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'w', options.mode);
  try {
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  let dfd: number | undefined;
  try {
    dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
  } catch {
    // Some platforms cannot fsync a folder; the rename itself is still atomic.
  } finally {
    if (dfd !== undefined) fs.closeSync(dfd);
  }
}
