import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { StoredImageSet } from '../ml/data/dataset-file.ts';
import { Rng } from '../ml/random.ts';
import { writePreviewPng } from '../report/preview.ts';

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
