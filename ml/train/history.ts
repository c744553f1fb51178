import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../base/atomic-write.ts';

/**
 * The per-epoch log of a training run, kept in its scratch folder across resumes (JSON lines).
 * Appending rewrites the file atomically (temporary file + rename): a kill mid-write leaves the
 * previous log whole, never a torn last line. The file is a few hundred short lines at most.
 * Logs written by an appending version may still end in a torn line: reading drops it (that epoch
 * is logged again when training resumes through it) rather than failing a finished training.
 */

export interface EpochRecord {
  readonly epoch: number;
  readonly [k: string]: unknown;
}

/** The records of a history file in order; a torn last line is dropped, a bad earlier line is an error. */
export function readHistory(path: string): EpochRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: EpochRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = undefined;
    }
    if (rec !== null && typeof rec === 'object' && typeof (rec as { epoch?: unknown }).epoch === 'number') {
      out.push(rec as EpochRecord);
      return;
    }
    const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
    if (!isLast) throw new Error(`${path}: line ${i + 1} is not an epoch record`);
  });
  return out;
}

export function appendHistory<R extends { readonly epoch: number }>(path: string, record: R): void {
  const lines = [...readHistory(path), record].map((r) => JSON.stringify(r));
  writeFileAtomic(path, `${lines.join('\n')}\n`);
}

/** One record per epoch (the last logged, e.g. after a resume re-ran an epoch), by epoch. */
export function historyByEpoch(path: string): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const e of readHistory(path)) byEpoch.set(e.epoch, e);
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}
