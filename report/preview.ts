/**
 * `pipeline.ts preview <dataset>`: a PNG grid of sample images, one row per class, so a person can
 * look at a dataset instead of a table of bytes. Images are upscaled by pixel replication. The
 * written preview names each row's class at its left and says above the grid what the columns
 * are; the labels are drawn with the figures' font (fonts.ts, resvg), the images copied in pixel
 * for pixel.
 */
import { writeFileAtomic } from '../base/atomic-write.ts';
import { PNG } from 'pngjs';
import type { ImageSet } from '../ml/data/image-set.ts';
import { Rng } from '../ml/random.ts';
import { FONT_HINT, findFont, type FontChoice } from './fonts.ts';

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
  /** RGBA pixels of the grid, row by row. */
  readonly rgba: Buffer;
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
  return { png: PNG.sync.write(png), rgba: png.data, width, height, indices };
}

/** Writes the grid to `path` atomically (temp file, fsync, rename). */
export function writePreviewPng(set: ImageSet, path: string, options: PreviewOptions = {}): PreviewGrid {
  const grid = previewGrid(set, options);
  writeFileAtomic(path, grid.png);
  return grid;
}

export interface LabelledPreviewOptions extends PreviewOptions {
  /** Name of each class (row); a name that is just the class index is shown as "class k". */
  readonly classNames?: readonly string[];
  /** The font for the labels; null: as on a machine without one (the grid alone). */
  readonly font?: FontChoice | null;
}

export interface LabelledPreview {
  readonly grid: PreviewGrid;
  readonly width: number;
  readonly height: number;
  /** Where the grid's top-left pixel sits in the written PNG. */
  readonly gridAt: { readonly x: number; readonly y: number };
  /** One label per row, top to bottom. */
  readonly rowLabels: readonly string[];
  /** What the columns are, as written above the grid. */
  readonly caption: string;
  readonly warnings: readonly string[];
}

const FONT_SIZE = 13;
const LINE = 18;
const PAD = 8;

const xmlEsc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `text` in lines no wider than `width` pixels, broken at spaces. */
function wrapText(text: string, width: number, measure: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && measure(next) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Writes the grid with its labels to `path`: each row's class name at its left, the example number
 * above each column, and a caption saying what the rows and columns are. Without a font file the
 * grid alone is written, with a warning that says how to get one.
 */
export async function writeLabelledPreview(set: ImageSet, path: string, options: LabelledPreviewOptions = {}): Promise<LabelledPreview> {
  const grid = previewGrid(set, options);
  const perClass = options.perClass ?? 10;
  const scale = options.scale ?? 3;
  const gap = options.gap ?? 2;
  const names = options.classNames ?? [];
  const rowLabels = Array.from({ length: set.numClasses }, (_, k) => {
    const name = names[k];
    if (name === undefined || name === String(k)) return `class ${k}`;
    return name.includes(String(k)) ? name : `${k} ${name}`;
  });
  const order = options.seed === undefined ? 'in file order' : `drawn at random (seed ${options.seed})`;
  const caption =
    `Rows: the ${set.numClasses} classes (label at left). Columns 1-${perClass}: examples of the row's class, ${order}, ` +
    `${set.width}x${set.height} pixels shown ${scale}x; an empty cell: the class has fewer examples.`;
  const font = options.font === undefined ? findFont() : (options.font ?? undefined);
  if (!font) {
    writeFileAtomic(path, grid.png);
    return { grid, width: grid.width, height: grid.height, gridAt: { x: 0, y: 0 }, rowLabels, caption, warnings: [`preview without labels: ${FONT_HINT}`] };
  }
  const { loadFontMetrics } = await import('./font-metrics.ts');
  const { svgToPng } = await import('./render.ts');
  const metrics = loadFontMetrics(font.regular);
  const measure = (s: string) => metrics.width(s, FONT_SIZE);
  const labelW = Math.ceil(Math.max(...rowLabels.map(measure))) + 2 * PAD;
  const width = labelW + grid.width;
  const lines = wrapText(caption, width - 2 * PAD, measure);
  const gridY = PAD + lines.length * LINE + LINE + 2;
  const height = gridY + grid.height;
  const cellW = set.width * scale;
  const cellH = set.height * scale;
  const text = (x: number, y: number, s: string, anchor: 'start' | 'middle' | 'end') =>
    `<text x="${x}" y="${y}" text-anchor="${anchor}" font-family="sans-serif" font-size="${FONT_SIZE}" fill="#e8e8e8">${xmlEsc(s)}</text>`;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="rgb(${BACKGROUND},${BACKGROUND},${BACKGROUND})"/>`,
    ...lines.map((l, i) => text(PAD, PAD + (i + 1) * LINE - 5, l, 'start')),
    ...Array.from({ length: perClass }, (_, c) => text(labelW + gap + c * (cellW + gap) + cellW / 2, gridY - 5, String(c + 1), 'middle')),
    ...rowLabels.map((l, r) => text(labelW - PAD, gridY + gap + r * (cellH + gap) + cellH / 2 + FONT_SIZE / 2 - 2, l, 'end')),
    '</svg>',
  ].join('');
  const frame = PNG.sync.read(svgToPng(svg, font, 1).png);
  if (frame.width !== width || frame.height !== height)
    throw new Error(`preview: labels rendered at ${frame.width}x${frame.height}, expected ${width}x${height}`);
  // The images go in as they are, not through the SVG renderer, which would resample them.
  for (let y = 0; y < grid.height; y++) grid.rgba.copy(frame.data, ((gridY + y) * width + labelW) * 4, y * grid.width * 4, (y + 1) * grid.width * 4);
  writeFileAtomic(path, PNG.sync.write(frame));
  return { grid, width, height, gridAt: { x: labelW, y: gridY }, rowLabels, caption, warnings: [] };
}
