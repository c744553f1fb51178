import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StoredImageSet, writeDataset } from '../ml/data/dataset-file.ts';
import { Rng } from '../ml/random.ts';
import { findFont } from '../report/fonts.ts';
import { previewGrid, writePreviewPng } from '../report/preview.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('preview: a valid PNG grid, one row per class, upscaled pixels equal to the images', () => {
  const count = 23,
    H = 5,
    W = 4,
    C = 3;
  const pixels = new Rng(1).fillUniform(new Float32Array(count * H * W * C), 0, 1);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 3); // 8, 8, 7 per class
  const set = new StoredImageSet({ count, height: H, width: W, channels: C, numClasses: 3, dtype: 'float32' }, pixels, labels);
  const dir = mkdtempSync(join(tmpdir(), 'rf-preview-'));
  try {
    const path = join(dir, 'grid.png');
    const grid = writePreviewPng(set, path, { perClass: 8, scale: 3, gap: 2 });
    const png = PNG.sync.read(readFileSync(path));
    assert.equal(png.width, 2 + 8 * (4 * 3 + 2));
    assert.equal(png.height, 2 + 3 * (5 * 3 + 2));
    assert.deepEqual(grid.indices[2]!.slice(-2), [20, -1]); // class 2 has only 7 examples
    // Cell (row 1, column 2) shows example 7 (the third of class 1); check its pixel (y 4, x 1).
    const index = grid.indices[1]![2]!;
    assert.equal(index, 7);
    const left = 2 + 2 * 14,
      top = 2 + 1 * 17;
    for (const [dy, dx] of [
      [0, 0],
      [2, 2],
    ] as const) {
      const o = ((top + 4 * 3 + dy) * png.width + left + 1 * 3 + dx) * 4;
      for (let c = 0; c < 3; c++) assert.equal(png.data[o + c], Math.round(pixels[((index * H + 4) * W + 1) * C + c]! * 255));
      assert.equal(png.data[o + 3], 255);
    }
    assert.deepEqual(readdirSync(dir), ['grid.png']);
    const random = writePreviewPng(set, path, { perClass: 2, seed: 4 });
    assert.ok(random.indices.every((row, k) => row.every((i) => labels[i] === k)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'preview through the CLI: each row names its class, a caption says what the columns are, the images are the pixels',
  { skip: findFont() ? false : 'no font file for PNG text' },
  () => {
    const count = 12,
      H = 4,
      W = 4,
      C = 3;
    const pixels = new Rng(2).fillUniform(new Float32Array(count * H * W * C), 0, 1);
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 3);
    const dir = mkdtempSync(join(tmpdir(), 'rf-preview-cli-'));
    try {
      const data = join(dir, 'set.rfds');
      writeDataset(data, { height: H, width: W, channels: C, numClasses: 3, dtype: 'float32', classNames: ['cat', 'dog', 'frog'] }, pixels, labels);
      const out = join(dir, 'grid.png');
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline.ts'), '--root', dir, 'preview', data, '--out', out, '--per-class', '4'], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /Rows: the 3 classes \(label at left\)\. Columns 1-4: examples of the row's class, in file order/);
      const png = PNG.sync.read(readFileSync(out));
      const grid = previewGrid(new StoredImageSet({ count, height: H, width: W, channels: C, numClasses: 3, dtype: 'float32' }, pixels, labels), {
        perClass: 4,
      });
      // The grid sits at the bottom right, pixel for pixel; the rest is labels.
      const x0 = png.width - grid.width;
      const y0 = png.height - grid.height;
      assert.ok(x0 >= 30 && y0 >= 20, `no room for labels: the grid is at ${x0}, ${y0}`);
      for (let y = 0; y < grid.height; y++)
        assert.ok(
          png.data
            .subarray(((y0 + y) * png.width + x0) * 4, ((y0 + y) * png.width + x0 + grid.width) * 4)
            .equals(grid.rgba.subarray(y * grid.width * 4, (y + 1) * grid.width * 4)),
          `grid row ${y}`,
        );
      // Text is drawn left of every row (light on the dark background) and above the grid.
      const ink = (x1: number, y1: number, x2: number, y2: number) => {
        let n = 0;
        for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) if (png.data[(y * png.width + x) * 4]! > 128) n++;
        return n;
      };
      const rowH = H * 3 + 2;
      for (let k = 0; k < 3; k++) assert.ok(ink(0, y0 + 2 + k * rowH, x0, y0 + 2 + (k + 1) * rowH) > 10, `no label left of row ${k}`);
      assert.ok(ink(0, 0, png.width, y0) > 50, 'no caption above the grid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
