/**
 * `pipeline.ts preview <dataset>`: a PNG grid of sample images, one row per class, so a person can
 * look at a dataset instead of a table of bytes. Images are upscaled by pixel replication.
 */
import { writeFileAtomic } from '../base/atomic-write.ts';
import { PNG } from 'pngjs';
import type { ImageSet } from '../ml/data/image-set.ts';
import { Rng } from '../ml/random.ts';

export interface PreviewOptions {
  /** Columns: examples shown per class (default 10). */
  readonly perClass?: number;
  /** Upscaling factor (default 3: a 32x32 image becomes 96x96). */
  readonly scale?: number;
  /** Pixels between cells (default 2). */
  readonly gap?: number;
  /** Pick examples at random with this seed; default: the first ones of each class. */
  readonly seed?: number;
}

export interface PreviewGrid {
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
  /** Example index shown in each row (class) and column; -1 where a class has too few. */
  readonly indices: readonly (readonly number[])[];
}

const BACKGROUND = 32;

export function previewGrid(set: ImageSet, options: PreviewOptions = {}): PreviewGrid {
  const perClass = options.perClass ?? 10;
  const scale = options.scale ?? 3;
  const gap = options.gap ?? 2;
  for (const [k, v] of Object.entries({ perClass, scale }) as Array<[string, number]>) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`preview: ${k} must be a positive integer, got ${v}`);
  }
  if (set.channels !== 1 && set.channels !== 3) throw new Error(`preview: ${set.channels}-channel images cannot be shown`);
  const byClass: number[][] = Array.from({ length: set.numClasses }, () => []);
  for (let i = 0; i < set.count; i++) byClass[set.labels[i]!]!.push(i);
  const rng = options.seed === undefined ? undefined : Rng.derive(options.seed, 'preview');
  const indices = byClass.map((list) => {
    const pool = rng ? rng.shuffle([...list]) : list;
    return Array.from({ length: perClass }, (_, j) => pool[j] ?? -1);
  });
  const cellW = set.width * scale;
  const cellH = set.height * scale;
  const width = gap + perClass * (cellW + gap);
  const height = gap + set.numClasses * (cellH + gap);
  const png = new PNG({ width, height });
  png.data.fill(BACKGROUND);
  for (let p = 3; p < png.data.length; p += 4) png.data[p] = 255;
  indices.forEach((row, r) =>
    row.forEach((index, c) => {
      if (index < 0) return;
      const img = set.gather([index]);
      const left = gap + c * (cellW + gap);
      const top = gap + r * (cellH + gap);
      for (let y = 0; y < cellH; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < cellW; x++) {
          const s = (sy * set.width + Math.floor(x / scale)) * set.channels;
          const o = ((top + y) * width + left + x) * 4;
          for (let ch = 0; ch < 3; ch++) {
            const v = img[s + (set.channels === 3 ? ch : 0)]!;
            png.data[o + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    }),
  );
  return { png: PNG.sync.write(png), width, height, indices };
}

/** Writes the grid to `path` atomically (temp file, fsync, rename). */
export function writePreviewPng(set: ImageSet, path: string, options: PreviewOptions = {}): PreviewGrid {
  const grid = previewGrid(set, options);
  writeFileAtomic(path, grid.png);
  return grid;
}
