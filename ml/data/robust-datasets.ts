/**
 * Ilyas et al.'s published D_R / D_NR datasets (docs/method/robust-datasets.md#the-published-files): fetch the archive (or take a local
 * tarball or folder), extract only the requested variants, and convert each pair of legacy torch
 * files (a list of NCHW float batches, a list of int64 label batches) into a float32 NHWC dataset
 * artifact.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ProgressSink } from '../../contracts/progress.ts';
import { CIFAR10 } from './cifar10.ts';
import { DatasetWriter, type DatasetHeader, type DatasetMeta } from './dataset-file.ts';
import { download, hashFile, type Expected } from './download.ts';
import { readTensor, readTorchLegacy, tensorList, type TorchTensor } from './torch-legacy.ts';

export const ROBUST_DATASETS = {
  url: 'http://andrewilyas.com/datasets.tar',
  root: 'release_datasets',
  images: 'CIFAR_ims',
  labels: 'CIFAR_lab',
} as const;

/** The four sets in the archive: D_R, D_NR, and Ilyas et al.'s D_rand and D_det. */
export const ROBUST_VARIANTS = ['d_robust_CIFAR', 'd_non_robust_CIFAR', 'drand_CIFAR', 'ddet_CIFAR'] as const;
export type RobustVariant = (typeof ROBUST_VARIANTS)[number];

/** The environment variable that points the pipeline at a local copy (tarball or folder). */
export const ROBUST_DATASETS_ENV = 'RF_ROBUST_DATASETS';

export type RobustSource =
  { readonly kind: 'url'; readonly url: string } | { readonly kind: 'tarball'; readonly path: string } | { readonly kind: 'folder'; readonly path: string };

/** `spec` (the `data.robust` parameter), else $RF_ROBUST_DATASETS, else the authors' URL. */
export function resolveRobustSource(spec?: string, env: NodeJS.ProcessEnv = process.env): RobustSource {
  const value = spec || env[ROBUST_DATASETS_ENV] || ROBUST_DATASETS.url;
  if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value };
  if (!existsSync(value)) throw new Error(`D_R/D_NR source ${value} does not exist (expected a URL, a tarball or a folder)`);
  return statSync(value).isDirectory() ? { kind: 'folder', path: value } : { kind: 'tarball', path: value };
}

/**
 * The folder holding `variant`'s two files inside `dir`: `dir/release_datasets/<variant>/`,
 * `dir/<variant>/`, or `dir` itself when it is named after the variant.
 */
export function locateVariant(dir: string, variant: RobustVariant): string {
  const candidates = [join(dir, ROBUST_DATASETS.root, variant), join(dir, variant), ...(basename(resolve(dir)) === variant ? [dir] : [])];
  const found = candidates.find((c) => existsSync(join(c, ROBUST_DATASETS.images)) && existsSync(join(c, ROBUST_DATASETS.labels)));
  if (!found) {
    throw new Error(`D_R/D_NR source ${dir}: no ${ROBUST_DATASETS.root}/${variant}/{${ROBUST_DATASETS.images},${ROBUST_DATASETS.labels}}`);
  }
  return found;
}

export interface ConvertOptions {
  readonly numClasses?: number;
  readonly classNames?: readonly string[];
  readonly meta?: DatasetMeta;
  readonly onProgress?: ProgressSink;
}

/**
 * Converts a pair of legacy torch files (images: list of N x C x H x W float tensors in [0, 1];
 * labels: list of int64 tensors) into a float32 NHWC dataset at `outPath`, one batch at a time.
 */
export function convertTorchPair(imagesPath: string, labelsPath: string, outPath: string, options: ConvertOptions = {}): DatasetHeader {
  const numClasses = options.numClasses ?? 10;
  const imsFile = readTorchLegacy(imagesPath);
  const labFile = readTorchLegacy(labelsPath);
  const ims = tensorList(imsFile);
  const labs = tensorList(labFile);
  if (ims.length === 0) throw new Error(`torch file ${imagesPath}: the image list is empty`);
  const first = ims[0]!;
  if (first.shape.length !== 4) throw new Error(`torch file ${imagesPath}: batch 0 has shape [${first.shape.join(', ')}], expected N x C x H x W`);
  const [, C, H, W] = first.shape as [number, number, number, number];
  ims.forEach((t, i) => {
    if (t.shape.length !== 4 || t.shape[1] !== C || t.shape[2] !== H || t.shape[3] !== W) {
      throw new Error(`torch file ${imagesPath}: batch ${i} has shape [${t.shape.join(', ')}], batch 0 has [N, ${C}, ${H}, ${W}]`);
    }
    if (t.storage.dtype !== 'float32' && t.storage.dtype !== 'float64') {
      throw new Error(`torch file ${imagesPath}: batch ${i} is ${t.storage.typeName}, expected float images`);
    }
  });
  labs.forEach((t, i) => {
    if (t.shape.length !== 1) throw new Error(`torch file ${labelsPath}: batch ${i} has shape [${t.shape.join(', ')}], expected a vector of labels`);
    if (!['int64', 'int32', 'int16', 'int8', 'uint8'].includes(t.storage.dtype)) {
      throw new Error(`torch file ${labelsPath}: batch ${i} is ${t.storage.typeName}, expected integer labels`);
    }
  });
  const count = ims.reduce((s, t) => s + t.shape[0]!, 0);
  const labelCount = labs.reduce((s, t) => s + t.shape[0]!, 0);
  if (count !== labelCount) {
    throw new Error(`D_R/D_NR pair: ${imagesPath} holds ${count} images but ${labelsPath} holds ${labelCount} labels`);
  }
  // Labels first (small), so a bad label stops us before any image is converted.
  const labels = new Uint8Array(count);
  let at = 0;
  labs.forEach((t, b) => {
    const values = readTensor(labFile, t);
    for (let i = 0; i < values.length; i++) {
      const y = Number(values[i]!);
      if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
        throw new Error(`torch file ${labelsPath}: batch ${b} label ${i} is ${y}, expected 0..${numClasses - 1}`);
      }
      labels[at++] = y;
    }
  });
  const writer = new DatasetWriter(outPath, {
    count,
    height: H,
    width: W,
    channels: C,
    numClasses,
    dtype: 'float32',
    classNames: options.classNames ?? (numClasses === 10 ? CIFAR10.classNames : undefined),
    meta: options.meta ?? {},
  });
  try {
    let done = 0;
    ims.forEach((t: TorchTensor, b) => {
      const n = t.shape[0]!;
      const values = readTensor(imsFile, t) as Float32Array | Float64Array;
      const plane = H * W;
      const out = new Float32Array(n * plane * C);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < C; c++) {
          const src = (i * C + c) * plane;
          for (let p = 0; p < plane; p++) {
            const v = values[src + p]!;
            if (!(v >= 0 && v <= 1)) {
              throw new Error(`torch file ${imagesPath}: batch ${b} image ${i} has value ${v} outside [0, 1]`);
            }
            out[(i * plane + p) * C + c] = v;
          }
        }
      }
      writer.append(out, labels.subarray(done, done + n));
      done += n;
      options.onProgress?.({ done, total: count, unit: 'images' });
    });
  } catch (err) {
    writer.abort();
    throw err;
  }
  return writer.close();
}

export interface FetchRobustOptions {
  readonly source: RobustSource;
  /** Output artifact path per wanted variant. */
  readonly outputs: Partial<Record<RobustVariant, string>>;
  /** Where the archive is downloaded (and resumed). */
  readonly downloadDir: string;
  /** Where a scratch folder for the members extracted from a tarball is made (and removed afterwards). */
  readonly extractDir: string;
  /** Size/MD5 of the archive, when known (none is known for the authors' file). */
  readonly expected?: Expected;
  readonly onProgress?: ProgressSink;
}

export async function fetchRobustDatasets(opts: FetchRobustOptions): Promise<Record<string, DatasetHeader>> {
  const wanted = Object.keys(opts.outputs) as RobustVariant[];
  for (const v of wanted) if (!ROBUST_VARIANTS.includes(v)) throw new Error(`unknown D_R/D_NR variant ${v} (known: ${ROBUST_VARIANTS.join(', ')})`);
  const { source } = opts;
  const provenance: Record<string, unknown> = { dataset: 'Ilyas et al. 2019 release_datasets', source: { ...source } };
  let dir: string;
  let scratch: string | undefined;
  if (source.kind === 'folder') {
    dir = source.path;
  } else {
    let tarball: string;
    if (source.kind === 'url') {
      const r = await download({ url: source.url, dest: join(opts.downloadDir, 'datasets.tar'), expected: opts.expected, onProgress: opts.onProgress });
      tarball = r.path;
      provenance.md5 = r.md5;
    } else {
      tarball = source.path;
      const { md5, bytes } = await hashFile(tarball, opts.onProgress);
      if (opts.expected?.size !== undefined && bytes !== opts.expected.size)
        throw new Error(`D_R/D_NR tarball ${tarball}: ${bytes} bytes, expected ${opts.expected.size}`);
      if (opts.expected?.md5 !== undefined && md5 !== opts.expected.md5.toLowerCase())
        throw new Error(`D_R/D_NR tarball ${tarball}: MD5 ${md5}, expected ${opts.expected.md5}`);
      provenance.md5 = md5;
    }
    provenance.bytes = statSync(tarball).size;
    mkdirSync(opts.extractDir, { recursive: true });
    scratch = mkdtempSync(join(opts.extractDir, 'release-datasets-'));
    const members = new Set(wanted.flatMap((v) => [ROBUST_DATASETS.images, ROBUST_DATASETS.labels].map((f) => `${v}/${f}`)));
    try {
      const tar = await import('tar');
      await tar.x({
        file: tarball,
        cwd: scratch,
        strict: true,
        // Only the requested variants' two files (paths may or may not start with "./").
        filter: (p) => [...members].some((m) => p.replace(/^\.\//, '').endsWith(m)),
      });
    } catch (err) {
      throw new Error(`D_R/D_NR tarball ${tarball} could not be read: ${(err as Error).message}`);
    }
    dir = scratch;
  }
  try {
    const result: Record<string, DatasetHeader> = {};
    for (const variant of wanted) {
      const folder = locateVariant(dir, variant);
      result[variant] = convertTorchPair(join(folder, ROBUST_DATASETS.images), join(folder, ROBUST_DATASETS.labels), opts.outputs[variant]!, {
        meta: { ...provenance, variant },
        onProgress: opts.onProgress,
      });
    }
    return result;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
