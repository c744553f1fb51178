/**
 * A self-describing file of named float32 tensors (models, training checkpoints):
 *
 *   bytes 0-7   magic "RFTENSOR"
 *   bytes 8-11  format version (uint32 LE, currently 1)
 *   bytes 12-15 header length H (uint32 LE, a multiple of 4)
 *   16 .. 16+H  header: UTF-8 JSON { kind, meta, tensors: [{ name, shape }] }, space-padded
 *   then        the tensors' values in header order, float32 little-endian, no gaps
 *
 * Values are copied bit for bit, so a round trip is exact. Writes are atomic (temporary file in the
 * same folder, fsync, rename, fsync of the folder).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

const MAGIC = 'RFTENSOR';
const VERSION = 1;
const LITTLE = endianness() === 'LE';

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Archive {
  readonly kind: string;
  readonly meta: unknown;
  /** In file order. */
  readonly tensors: readonly NamedArray[];
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeArchive(archive: Archive): Uint8Array {
  const header = {
    kind: archive.kind,
    meta: archive.meta,
    tensors: archive.tensors.map((t) => {
      if (t.data.length !== count(t.shape)) throw new Error(`archive: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
      return { name: t.name, shape: t.shape };
    }),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 4) * 4;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const values = archive.tensors.reduce((a, t) => a + t.data.length, 0);
  const out = new Uint8Array(16 + padded + 4 * values);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, padded, true);
  out.set(json, 16);
  let off = 16 + padded;
  for (const t of archive.tensors) {
    if (LITTLE) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), off);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(off + 4 * i, t.data[i]!, true);
    off += t.data.byteLength;
  }
  return out;
}

export interface ArchiveHeader {
  readonly kind: string;
  readonly meta: unknown;
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

/** The header of the archive at `path` without reading its tensors; undefined when it is not one. */
export function readArchiveHeader(path: string): ArchiveHeader | undefined {
  const fd = openSync(path, 'r');
  try {
    const start = Buffer.alloc(16);
    if (readSync(fd, start, 0, 16, 0) < 16 || start.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const header = Buffer.alloc(start.readUInt32LE(12));
    readSync(fd, header, 0, header.length, 16);
    return JSON.parse(header.toString('utf8')) as ArchiveHeader;
  } finally {
    closeSync(fd);
  }
}

/** Parses an archive; `where` (a path) names the source in every error. */
export function decodeArchive(bytes: Uint8Array, where: string): Archive {
  if (bytes.length < 16 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) {
    throw new Error(`${where}: not a robustfeat tensor archive (bad magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new Error(`${where}: unsupported archive version ${version} (expected ${VERSION})`);
  const hlen = view.getUint32(12, true);
  if (16 + hlen > bytes.length) throw new Error(`${where}: header length ${hlen} runs past the end of the file`);
  let header: { kind?: unknown; meta?: unknown; tensors?: unknown };
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(16, 16 + hlen)).toString('utf8'));
  } catch (e) {
    throw new Error(`${where}: unreadable archive header: ${(e as Error).message}`);
  }
  if (typeof header.kind !== 'string' || !Array.isArray(header.tensors)) {
    throw new Error(`${where}: archive header lacks "kind" or "tensors"`);
  }
  const tensors: NamedArray[] = [];
  let off = 16 + hlen;
  for (const entry of header.tensors as unknown[]) {
    const e = (entry !== null && typeof entry === 'object' ? entry : {}) as { name?: unknown; shape?: unknown };
    if (typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${where}: bad tensor entry ${JSON.stringify(entry)}`);
    }
    const shape = e.shape as number[];
    const n = count(shape);
    if (off + 4 * n > bytes.length) throw new Error(`${where}: tensor ${e.name} runs past the end of the file (truncated?)`);
    const data = new Float32Array(n);
    if (LITTLE) new Uint8Array(data.buffer).set(bytes.subarray(off, off + 4 * n));
    else for (let i = 0; i < n; i++) data[i] = view.getFloat32(off + 4 * i, true);
    tensors.push({ name: e.name, shape, data });
    off += 4 * n;
  }
  if (off !== bytes.length) throw new Error(`${where}: ${bytes.length - off} unexpected bytes after the last tensor`);
  return { kind: header.kind, meta: header.meta, tensors };
}
