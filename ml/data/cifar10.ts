/**
 * CIFAR-10 (docs/method/data.md#cifar-10): fetch the official binary tarball (or take a local tarball or folder),
 * verify it, read only the six batch files, and write the train and test sets as uint8 dataset
 * artifacts (exact bytes).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ProgressSink } from '../../contracts/progress.ts';
import { DatasetWriter, type DatasetHeader } from './dataset-file.ts';
import { download, verifyFile, type Expected } from './download.ts';

export const CIFAR10 = {
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  size: 170_052_171,
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  folder: 'cifar-10-batches-bin',
  trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  testFile: 'test_batch.bin',
  recordsPerBatch: 10_000,
  recordBytes: 3073,
  side: 32,
  classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
} as const;

/** The environment variable that points the pipeline at a local copy (tarball or folder). */
export const CIFAR10_ENV = 'RF_CIFAR10';

export type Cifar10Source =
  { readonly kind: 'url'; readonly url: string } | { readonly kind: 'tarball'; readonly path: string } | { readonly kind: 'folder'; readonly path: string };

/**
 * Where CIFAR-10 comes from: `spec` (the `data.cifar10` parameter), else $RF_CIFAR10, else the
 * official URL. A local path must exist; a folder is read as it is, a file as a tarball.
 */
export function resolveCifar10Source(spec?: string, env: NodeJS.ProcessEnv = process.env): Cifar10Source {
  const value = spec || env[CIFAR10_ENV] || CIFAR10.url;
  if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value };
  if (!existsSync(value)) throw new Error(`CIFAR-10 source ${value} does not exist (expected a URL, a tarball or a folder)`);
  return statSync(value).isDirectory() ? { kind: 'folder', path: value } : { kind: 'tarball', path: value };
}

export interface ParsedBatch {
  /** NHWC uint8, count x 32 x 32 x 3. */
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/**
 * Parses one batch file: 3,073-byte records of a label byte (0-9) and the red, green and blue
 * 32x32 planes, each row-major. `name` appears in every error. `expectedRecords` null: any count.
 */
export function parseCifarBatch(name: string, bytes: Uint8Array, expectedRecords: number | null = CIFAR10.recordsPerBatch): ParsedBatch {
  const R = CIFAR10.recordBytes;
  if (bytes.length % R !== 0) {
    throw new Error(
      `CIFAR-10 batch ${name}: ${bytes.length} bytes is not a whole number of ${R}-byte records ` +
        `(${Math.floor(bytes.length / R)} records and ${bytes.length % R} bytes left over)`,
    );
  }
  const count = bytes.length / R;
  if (count === 0) throw new Error(`CIFAR-10 batch ${name} is empty`);
  if (expectedRecords !== null && count !== expectedRecords) {
    throw new Error(`CIFAR-10 batch ${name}: ${count} records, expected ${expectedRecords}`);
  }
  const plane = CIFAR10.side * CIFAR10.side;
  const pixels = new Uint8Array(count * plane * 3);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const rec = i * R;
    const label = bytes[rec]!;
    if (label > 9) throw new Error(`CIFAR-10 batch ${name}: record ${i} has label ${label}, expected 0..9`);
    labels[i] = label;
    const out = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      pixels[out + 3 * p] = bytes[rec + 1 + p]!;
      pixels[out + 3 * p + 1] = bytes[rec + 1 + plane + p]!;
      pixels[out + 3 * p + 2] = bytes[rec + 1 + 2 * plane + p]!;
    }
  }
  return { pixels, labels, count };
}

const NEEDED: readonly string[] = [...CIFAR10.trainFiles, CIFAR10.testFile];

/** Reads the six batch files out of a (gzipped) tarball without writing anything to disk. */
async function readBatchesFromTarball(path: string, onProgress?: ProgressSink): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const total = statSync(path).size;
  try {
    // Imported here: every start of the CLI would otherwise load it (robust-source.ts reads this module's constants).
    const tar = await import('tar');
    await tar.t({
      file: path,
      strict: true,
      filter: (entryPath) => NEEDED.includes(baseOf(entryPath)) && entryPath.includes(`${CIFAR10.folder}/`),
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          found.set(baseOf(entry.path), Buffer.concat(chunks));
          onProgress?.({ done: found.size, total: NEEDED.length, unit: 'batch files', info: { tarball_MB: Math.round(total / 1e6) } });
        });
      },
    });
  } catch (err) {
    throw new Error(`CIFAR-10 tarball ${path} could not be read: ${(err as Error).message}`);
  }
  return found;
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function readBatchesFromFolder(path: string): Map<string, Buffer> {
  const inner = join(path, CIFAR10.folder);
  const dir = existsSync(join(inner, CIFAR10.testFile)) || !existsSync(join(path, CIFAR10.testFile)) ? inner : path;
  const found = new Map<string, Buffer>();
  for (const name of NEEDED) {
    const file = join(dir, name);
    if (existsSync(file)) found.set(name, readFileSync(file));
  }
  return found;
}

export interface FetchCifar10Options {
  readonly source: Cifar10Source;
  /** Where a downloaded tarball is kept (and resumed from). */
  readonly downloadDir: string;
  readonly trainPath: string;
  readonly testPath: string;
  /**
   * Size and MD5 the tarball must have (URL or local tarball). Defaults to the official ones;
   * tests pass their own.
   */
  readonly expected?: Expected;
  /** Records each batch must hold (default 10,000; null accepts any whole number). */
  readonly recordsPerBatch?: number | null;
  /**
   * Accept a partial local copy: batches with fewer records, and missing train batch files (the
   * test batch and at least one train batch must be there). Without it such a copy is refused.
   */
  readonly partial?: boolean;
  readonly onProgress?: ProgressSink;
}

/** How the refusal of a partial copy says to accept it. */
export const PARTIAL_HINT = 'a partial copy is accepted with `data: { partial: true }` in params.yaml (or --set data.partial=true)';

export interface FetchCifar10Result {
  readonly train: DatasetHeader;
  readonly test: DatasetHeader;
  /** What was read and what was verified, also stored in each artifact's metadata. */
  readonly provenance: Readonly<Record<string, unknown>>;
}

export async function fetchCifar10(opts: FetchCifar10Options): Promise<FetchCifar10Result> {
  const expected = opts.expected ?? { size: CIFAR10.size, md5: CIFAR10.md5 };
  const { source } = opts;
  let batches: Map<string, Buffer>;
  let where: string;
  const provenance: Record<string, unknown> = { dataset: 'CIFAR-10', source: { ...source } };
  if (source.kind === 'folder') {
    where = source.path;
    batches = readBatchesFromFolder(source.path);
    provenance.verified = 'record structure only (a folder has no archive checksum)';
  } else {
    let tarball: string;
    if (source.kind === 'url') {
      const r = await download({
        url: source.url,
        dest: join(opts.downloadDir, baseOf(new URL(source.url).pathname) || 'cifar-10.tar.gz'),
        expected,
        onProgress: opts.onProgress,
      });
      tarball = r.path;
      provenance.md5 = r.md5;
    } else {
      tarball = source.path;
      try {
        provenance.md5 = await verifyFile(tarball, expected, opts.onProgress);
      } catch (err) {
        throw new Error(`CIFAR-10 tarball ${(err as Error).message}`);
      }
    }
    provenance.bytes = statSync(tarball).size;
    provenance.verified = `size ${expected.size ?? 'unchecked'} and MD5 ${expected.md5 ?? 'unchecked'}`;
    where = tarball;
    batches = await readBatchesFromTarball(tarball, opts.onProgress);
  }
  const missing = NEEDED.filter((n) => !batches.has(n));
  const partial = opts.partial === true;
  const trainFiles = CIFAR10.trainFiles.filter((n) => batches.has(n));
  if (missing.length > 0 && (!partial || !batches.has(CIFAR10.testFile) || trainFiles.length === 0)) {
    const names = missing.map((m) => `${CIFAR10.folder}/${m}`).join(', ');
    throw new Error(
      `CIFAR-10 source ${where} is missing ${names}` + (partial ? ' (a partial copy still needs the test batch and one train batch)' : `; ${PARTIAL_HINT}`),
    );
  }
  const fileMd5: Record<string, string> = {};
  for (const [name, bytes] of batches) fileMd5[name] = createHash('md5').update(bytes).digest('hex');
  provenance.files = fileMd5;

  const expectedRecords = partial ? null : opts.recordsPerBatch === undefined ? CIFAR10.recordsPerBatch : opts.recordsPerBatch;
  const parse = (name: string) => {
    const file = `${where}:${CIFAR10.folder}/${name}`;
    const bytes = batches.get(name)!;
    const records = bytes.length / CIFAR10.recordBytes;
    if (expectedRecords !== null && Number.isInteger(records) && records !== expectedRecords) {
      throw new Error(`CIFAR-10 batch ${file}: ${records} records, expected ${expectedRecords}; ${PARTIAL_HINT}`);
    }
    return parseCifarBatch(file, bytes, expectedRecords);
  };
  // Parse everything before writing anything, so a bad batch leaves no half-made artifact.
  const trainParts = trainFiles.map(parse);
  const testPart = parse(CIFAR10.testFile);
  if (partial) {
    provenance.partial = {
      trainFiles,
      trainImages: trainParts.reduce((s, p) => s + p.count, 0),
      testImages: testPart.count,
      note: `partial copy: ${trainParts.reduce((s, p) => s + p.count, 0)} of 50000 train and ${testPart.count} of 10000 test images`,
    };
  }
  const write = (path: string, split: string, parts: ParsedBatch[]) => {
    const writer = new DatasetWriter(path, {
      count: parts.reduce((s, p) => s + p.count, 0),
      height: CIFAR10.side,
      width: CIFAR10.side,
      channels: 3,
      numClasses: 10,
      dtype: 'uint8',
      classNames: CIFAR10.classNames,
      meta: { ...provenance, split },
    });
    try {
      for (const p of parts) writer.append(p.pixels, p.labels);
    } catch (err) {
      writer.abort();
      throw err;
    }
    return writer.close();
  };
  const train = write(opts.trainPath, 'train', trainParts);
  const test = write(opts.testPath, 'test', [testPart]);
  return { train, test, provenance };
}
