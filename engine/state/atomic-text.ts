import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes `text` to `path` through a temporary file in the same folder and a rename, so a reader
 * sees the old file or the whole new one; a failed write leaves no temporary file behind.
 */
export function writeTextAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
