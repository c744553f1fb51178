/** What `show` prints about a dataset artifact: size, shape, storage, class balance, provenance. */
import { StoredImageSet, type DatasetMeta, type StorageDtype } from './dataset-file.ts';
import type { ImageSet } from './image-set.ts';

export interface DatasetSummary {
  readonly count: number;
  readonly shape: readonly [number, number, number];
  readonly dtype: StorageDtype | 'float32 (view)';
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly classCounts: readonly number[];
  readonly meta: DatasetMeta;
}

export function datasetSummary(set: ImageSet): DatasetSummary {
  const classCounts = new Array<number>(set.numClasses).fill(0);
  for (let i = 0; i < set.count; i++) classCounts[set.labels[i]!]! += 1;
  const stored = set instanceof StoredImageSet ? set : undefined;
  return {
    count: set.count,
    shape: [set.height, set.width, set.channels],
    dtype: stored?.dtype ?? 'float32 (view)',
    numClasses: set.numClasses,
    classNames: stored?.classNames ?? Array.from({ length: set.numClasses }, (_, i) => String(i)),
    classCounts,
    meta: stored?.meta ?? {},
  };
}

/** Human-readable lines for the CLI. */
export function formatDatasetSummary(s: DatasetSummary): string {
  const lines = [
    `${s.count} images, ${s.shape.join('x')} (HxWxC), ${s.dtype}, ${s.numClasses} classes`,
    'class balance:',
    ...s.classNames.map((name, c) => {
      const n = s.classCounts[c]!;
      const pct = s.count > 0 ? ((100 * n) / s.count).toFixed(1) : '0.0';
      return `  ${String(c).padStart(2)} ${name.padEnd(12)} ${String(n).padStart(7)}  ${pct.padStart(5)} %`;
    }),
  ];
  if (Object.keys(s.meta).length > 0) lines.push(`metadata: ${JSON.stringify(s.meta, shorten)}`);
  return lines.join('\n');
}

/**
 * Long strings and arrays in metadata (per-image records) are cut for display, and fractions shown
 * to 4 significant digits (the file keeps them exact).
 */
function shorten(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value) && Number.isFinite(value)) return Number(value.toPrecision(4));
  if (typeof value === 'string' && value.length > 80) return `${value.slice(0, 40)}... (${value.length} chars)`;
  if (Array.isArray(value) && value.length > 20) return [...value.slice(0, 10), `... (${value.length} items)`];
  return value;
}
