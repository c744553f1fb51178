/**
 * The one binary format for every dataset artifact (CIFAR-10, D_R, D_NR, the synthetic set, test
 * subsets), and the in-memory `ImageSet` over it.
 *
 * Layout (all integers little-endian):
 *
 *   offset 0     4 bytes  magic "RFDS"
 *   offset 4     uint32   format version (1)
 *   offset 8     uint32   header length h in bytes (JSON, UTF-8, padded with spaces)
 *   offset 12    h bytes  JSON `DatasetHeader`; 12 + h is a multiple of 64
 *   pixelOffset  count*H*W*C values, NHWC, uint8 (exact bytes, value/255) or float32 in [0, 1]
 *   labelOffset  count uint8 labels
 *   trailer      8 bytes "RFDSEND\n", then the 32-byte SHA-256 of every byte before the trailer
 *
 * The header repeats the offsets and the total size so that a truncated file is reported as such
 * before anything else is read, and the trailer hash catches any other damage. Opening reads the
 * file once into one off-heap buffer and serves images through typed-array views over it, so a
 * 50,000-image float set (614 MB) exists in memory exactly once.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ImageSet } from './image-set.ts';
import { imageSize } from './image-set.ts';

export const DATASET_MAGIC = 'RFDS';
export const DATASET_VERSION = 1;
const TRAILER_MAGIC = 'RFDSEND\n';
const TRAILER_BYTES = 8 + 32;
const ALIGN = 64;
const PREAMBLE_BYTES = 12;

export type StorageDtype = 'uint8' | 'float32';

/** Free-form JSON metadata (provenance, generator parameters). */
export type DatasetMeta = Readonly<Record<string, unknown>>;

export interface DatasetShape {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

export interface DatasetInit extends DatasetShape {
  readonly dtype: StorageDtype;
  readonly classNames?: readonly string[];
  readonly meta?: DatasetMeta;
}

export interface DatasetHeader extends DatasetInit {
  readonly classNames: readonly string[];
  readonly meta: DatasetMeta;
  readonly pixelOffset: number;
  readonly labelOffset: number;
  readonly fileBytes: number;
}

export type PixelArray = Uint8Array | Float32Array;

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('the dataset format is little-endian; this machine is big-endian');
}

function bytesPerValue(dtype: StorageDtype): number {
  return dtype === 'uint8' ? 1 : 4;
}

function checkInit(init: DatasetInit, what: string): void {
  for (const key of ['count', 'height', 'width', 'channels', 'numClasses'] as const) {
    const v = init[key];
    if (!Number.isInteger(v) || v < 0 || (key !== 'count' && v === 0)) {
      throw new Error(`${what}: ${key} must be a ${key === 'count' ? 'non-negative' : 'positive'} integer, got ${v}`);
    }
  }
  if (init.numClasses > 256) throw new Error(`${what}: numClasses ${init.numClasses} does not fit uint8 labels`);
  if (init.dtype !== 'uint8' && init.dtype !== 'float32') throw new Error(`${what}: unknown dtype ${String(init.dtype)}`);
  if (init.classNames && init.classNames.length !== init.numClasses) {
    throw new Error(`${what}: ${init.classNames.length} class names for ${init.numClasses} classes`);
  }
}

/** Default class names "0", "1", ... when a dataset has none. */
export function defaultClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** Header bytes (preamble + padded JSON) and the resulting offsets. */
function encodeHeader(init: DatasetInit): { bytes: Buffer; header: DatasetHeader } {
  const pixelBytes = init.count * init.height * init.width * init.channels * bytesPerValue(init.dtype);
  const base = {
    count: init.count,
    height: init.height,
    width: init.width,
    channels: init.channels,
    numClasses: init.numClasses,
    dtype: init.dtype,
    classNames: [...(init.classNames ?? defaultClassNames(init.numClasses))],
    meta: init.meta ?? {},
  };
  // The offsets depend on the JSON length, which depends on the offsets: iterate to a fixed point.
  let pixelOffset = ALIGN;
  for (;;) {
    const labelOffset = pixelOffset + pixelBytes;
    const header: DatasetHeader = { ...base, pixelOffset, labelOffset, fileBytes: labelOffset + init.count + TRAILER_BYTES };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const needed = Math.ceil((PREAMBLE_BYTES + json.length) / ALIGN) * ALIGN;
    if (needed === pixelOffset) {
      const bytes = Buffer.alloc(pixelOffset, 0x20);
      bytes.write(DATASET_MAGIC, 0, 'latin1');
      bytes.writeUInt32LE(DATASET_VERSION, 4);
      bytes.writeUInt32LE(pixelOffset - PREAMBLE_BYTES, 8);
      json.copy(bytes, PREAMBLE_BYTES);
      return { bytes, header };
    }
    pixelOffset = needed;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

/**
 * Streams a dataset to disk in chunks (so a builder never holds the whole set twice), hashing as it
 * goes. The file appears at `path` only on `close()` (temp file in the same folder, fsync, rename).
 */
export class DatasetWriter {
  readonly header: DatasetHeader;
  private readonly fd: number;
  private readonly tmp: string;
  private readonly hash: Hash = createHash('sha256');
  private readonly labels: Uint8Array;
  private written = 0;
  private closed = false;

  constructor(
    readonly path: string,
    init: DatasetInit,
  ) {
    assertLittleEndian();
    checkInit(init, `dataset ${path}`);
    const { bytes, header } = encodeHeader(init);
    this.header = header;
    this.labels = new Uint8Array(init.count);
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    this.fd = openSync(this.tmp, 'w');
    this.put(bytes);
  }

  private put(data: Uint8Array): void {
    writeAll(this.fd, data);
    this.hash.update(data);
  }

  /** Examples written so far. */
  get count(): number {
    return this.written;
  }

  /**
   * Appends images (NHWC values in the file's dtype, a whole number of images) and their labels.
   * Float values must lie in [0, 1]; labels below numClasses.
   */
  append(pixels: PixelArray, labels: ArrayLike<number>): void {
    const h = this.header;
    if (this.closed) throw new Error(`dataset ${this.path}: append after close`);
    const expectedType = h.dtype === 'uint8' ? Uint8Array : Float32Array;
    if (!(pixels instanceof expectedType)) {
      throw new Error(`dataset ${this.path}: ${h.dtype} storage needs ${expectedType.name} pixels, got ${pixels.constructor.name}`);
    }
    const size = h.height * h.width * h.channels;
    const n = labels.length;
    if (pixels.length !== n * size) {
      throw new Error(`dataset ${this.path}: ${pixels.length} pixel values for ${n} labels of ${size} values each`);
    }
    if (this.written + n > h.count) {
      throw new Error(`dataset ${this.path}: ${this.written + n} examples exceed the declared count ${h.count}`);
    }
    if (pixels instanceof Float32Array) {
      for (let i = 0; i < pixels.length; i++) {
        const v = pixels[i]!;
        if (!(v >= 0 && v <= 1)) {
          throw new Error(`dataset ${this.path}: example ${this.written + Math.floor(i / size)} has value ${v} outside [0, 1]`);
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= h.numClasses) {
        throw new Error(`dataset ${this.path}: example ${this.written + i} has label ${y}, expected 0..${h.numClasses - 1}`);
      }
      this.labels[this.written + i] = y;
    }
    this.put(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    this.written += n;
  }

  /** Writes labels and trailer, then fsyncs and renames into place. */
  close(): DatasetHeader {
    if (this.closed) throw new Error(`dataset ${this.path}: closed twice`);
    if (this.written !== this.header.count) {
      this.abort();
      throw new Error(`dataset ${this.path}: ${this.written} examples written, header declares ${this.header.count}`);
    }
    this.put(this.labels);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.write(TRAILER_MAGIC, 0, 'latin1');
    this.hash.digest().copy(trailer, 8);
    writeAll(this.fd, trailer);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.tmp, this.path);
    syncDir(dirname(this.path));
    return this.header;
  }

  /** Drops the temporary file (on error). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } finally {
      rmSync(this.tmp, { force: true });
    }
  }
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a whole dataset at once (atomic). */
export function writeDataset(path: string, init: Omit<DatasetInit, 'count'>, pixels: PixelArray, labels: ArrayLike<number>): DatasetHeader {
  const writer = new DatasetWriter(path, { ...init, count: labels.length });
  try {
    writer.append(pixels, labels);
  } catch (err) {
    writer.abort();
    throw err;
  }
  return writer.close();
}

const UINT8_TO_UNIT = (() => {
  const lut = new Float32Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i / 255;
  return lut;
})();

/**
 * An `ImageSet` over raw NHWC storage (a file's views, or arrays built in memory). `gather` converts
 * uint8 storage to value/255.
 */
export class StoredImageSet implements ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly dtype: StorageDtype;
  readonly classNames: readonly string[];
  readonly meta: DatasetMeta;

  constructor(
    init: DatasetInit,
    /** Raw NHWC storage: uint8 bytes or float32 values. */
    readonly pixels: PixelArray,
    readonly labels: Uint8Array,
  ) {
    checkInit(init, 'image set');
    this.count = init.count;
    this.height = init.height;
    this.width = init.width;
    this.channels = init.channels;
    this.numClasses = init.numClasses;
    this.dtype = init.dtype;
    this.classNames = init.classNames ?? defaultClassNames(init.numClasses);
    this.meta = init.meta ?? {};
    const size = imageSize(this);
    if (pixels.length !== this.count * size) {
      throw new Error(`image set: ${pixels.length} pixel values for ${this.count} images of ${size}`);
    }
    if ((this.dtype === 'uint8') !== pixels instanceof Uint8Array) {
      throw new Error(`image set: dtype ${this.dtype} does not match ${pixels.constructor.name} storage`);
    }
    if (labels.length !== this.count) throw new Error(`image set: ${labels.length} labels for ${this.count} images`);
  }

  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const size = imageSize(this);
    const n = indices.length;
    const result = out ?? new Float32Array(n * size);
    if (result.length < n * size) throw new Error(`gather: output holds ${result.length} values, need ${n * size}`);
    for (let j = 0; j < n; j++) {
      const i = indices[j]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new Error(`gather: index ${i} outside 0..${this.count - 1}`);
      const src = i * size;
      const dst = j * size;
      if (this.pixels instanceof Float32Array) {
        result.set(this.pixels.subarray(src, src + size), dst);
      } else {
        const px = this.pixels;
        for (let k = 0; k < size; k++) result[dst + k] = UINT8_TO_UNIT[px[src + k]!]!;
      }
    }
    return result;
  }

  /** The raw storage of example i (a view, not a copy). */
  raw(i: number): PixelArray {
    const size = imageSize(this);
    return this.pixels.subarray(i * size, (i + 1) * size);
  }

  init(count = this.count): DatasetInit {
    return {
      count,
      height: this.height,
      width: this.width,
      channels: this.channels,
      numClasses: this.numClasses,
      dtype: this.dtype,
      classNames: this.classNames,
      meta: this.meta,
    };
  }
}

/** A dataset opened from its artifact file. */
export class DatasetFile extends StoredImageSet {
  constructor(
    readonly path: string,
    readonly header: DatasetHeader,
    pixels: PixelArray,
    labels: Uint8Array,
  ) {
    super(header, pixels, labels);
  }
}

function readWholeFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // allocUnsafeSlow: a buffer of its own (byteOffset 0), so the 64-byte file alignment carries over.
    const buf = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, Math.min(size - done, 1 << 30), done);
      if (n === 0) throw new Error(`dataset ${path}: file shrank while reading (${done} of ${size} bytes)`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Parses and checks the header at the start of `buf`; `fileSize` is the whole file's length. */
function parseHeader(path: string, buf: Buffer, fileSize: number): DatasetHeader {
  if (buf.length < PREAMBLE_BYTES || buf.toString('latin1', 0, 4) !== DATASET_MAGIC) {
    throw new Error(`dataset ${path}: not a robustfeat dataset file (missing "${DATASET_MAGIC}" magic)`);
  }
  const version = buf.readUInt32LE(4);
  if (version !== DATASET_VERSION) throw new Error(`dataset ${path}: format version ${version}, this reader knows ${DATASET_VERSION}`);
  const headerLength = buf.readUInt32LE(8);
  if (PREAMBLE_BYTES + headerLength > buf.length) {
    throw new Error(`dataset ${path}: truncated inside the header (${buf.length} bytes, header needs ${PREAMBLE_BYTES + headerLength})`);
  }
  let header: DatasetHeader;
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)) as DatasetHeader;
  } catch (err) {
    throw new Error(`dataset ${path}: header is not valid JSON (${(err as Error).message})`);
  }
  checkInit(header, `dataset ${path}`);
  const pixelBytes = header.count * header.height * header.width * header.channels * bytesPerValue(header.dtype);
  if (
    header.pixelOffset !== PREAMBLE_BYTES + headerLength ||
    header.labelOffset !== header.pixelOffset + pixelBytes ||
    header.fileBytes !== header.labelOffset + header.count + TRAILER_BYTES
  ) {
    throw new Error(`dataset ${path}: header offsets are inconsistent with its shape`);
  }
  if (fileSize !== header.fileBytes) {
    throw new Error(
      `dataset ${path}: ${fileSize < header.fileBytes ? 'truncated' : 'has trailing bytes'}: ` + `${fileSize} bytes, the header declares ${header.fileBytes}`,
    );
  }
  return header;
}

export interface OpenOptions {
  /** Check the SHA-256 trailer (about 1 s per GB); the length check always runs. Default true. */
  readonly verify?: boolean;
}

/** Opens a dataset artifact: one read into one buffer, views over it. */
export function openDataset(path: string, options: OpenOptions = {}): DatasetFile {
  assertLittleEndian();
  const buf = readWholeFile(path);
  const header = parseHeader(path, buf, buf.length);
  const trailerAt = header.labelOffset + header.count;
  if (buf.toString('latin1', trailerAt, trailerAt + 8) !== TRAILER_MAGIC) {
    throw new Error(`dataset ${path}: trailer missing or damaged`);
  }
  if (options.verify ?? true) {
    const actual = createHash('sha256').update(buf.subarray(0, trailerAt)).digest();
    if (!actual.equals(buf.subarray(trailerAt + 8, trailerAt + TRAILER_BYTES))) {
      throw new Error(`dataset ${path}: checksum mismatch, the file is damaged`);
    }
  }
  const values = header.count * header.height * header.width * header.channels;
  const pixels: PixelArray =
    header.dtype === 'uint8'
      ? new Uint8Array(buf.buffer, buf.byteOffset + header.pixelOffset, values)
      : new Float32Array(buf.buffer, buf.byteOffset + header.pixelOffset, values);
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + header.labelOffset, header.count);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= header.numClasses) throw new Error(`dataset ${path}: example ${i} has label ${labels[i]}, expected 0..${header.numClasses - 1}`);
  }
  return new DatasetFile(path, header, pixels, labels);
}

/** Reads only the header (for `show` on a large file); checks the file's length against it. */
export function readDatasetHeader(path: string): DatasetHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const pre = Buffer.alloc(Math.min(size, PREAMBLE_BYTES));
    readSync(fd, pre, 0, pre.length, 0);
    const headerLength = pre.length === PREAMBLE_BYTES && pre.toString('latin1', 0, 4) === DATASET_MAGIC ? pre.readUInt32LE(8) : 0;
    const head = Buffer.alloc(Math.min(size, PREAMBLE_BYTES + headerLength));
    readSync(fd, head, 0, head.length, 0);
    return parseHeader(path, head, size);
  } finally {
    closeSync(fd);
  }
}
