// Loads the PyTorch-written fixtures of test/fixtures/models (see make_torch_fixtures.py).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TorchFixture {
  readonly meta: Record<string, unknown>;
  has(key: string): boolean;
  get(key: string): Float32Array;
  shape(key: string): number[];
}

export function loadTorchFixture(name: string): TorchFixture {
  const dir = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
  const index = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as {
    meta: Record<string, unknown>;
    tensors: Record<string, { offset: number; shape: number[] }>;
  };
  const bytes = readFileSync(`${dir}${name}.bin`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const entry = (key: string) => {
    const e = index.tensors[key];
    if (!e) throw new Error(`fixture ${name}: no tensor ${key}`);
    return e;
  };
  return {
    meta: index.meta,
    has: (key) => key in index.tensors,
    shape: (key) => entry(key).shape,
    get: (key) => {
      const e = entry(key);
      const n = e.shape.reduce((a, b) => a * b, 1);
      return all.slice(e.offset, e.offset + n);
    },
  };
}

/** Largest |a - b| / (atol + |b|)-style check: returns the worst absolute error beyond rtol * |b|. */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) / (atol + Math.abs(expected[i]!));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}
