// Shared by the backend tests: run the same computation on two tfjs backends and compare.
import { nativeSkip } from './helpers/services.ts';
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../ml/backend/index.ts';
import { Rng } from '../ml/random.ts';

export function randomArray(seed: number, shape: readonly number[], lo = -1, hi = 1): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(shape.reduce((p, d) => p * d, 1)), lo, hi);
}

/** Runs `fn` on `backend` and returns copies of its outputs; frees every tensor it made. */
/** Equal bit for bit (NaN payloads and -0 included), naming the first element that differs. */
export function sameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const i = a.findIndex((v, k) => v !== e[k]);
  assert.equal(i, -1, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
}

export const copyData = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync());

export async function runOn(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to start`);
  const before = tf.memory().numTensors;
  const outs = tf.tidy(fn);
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return values;
}

/** max |a - b| relative to max(1, max |b|), so large sums get a relative tolerance. */
export function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let maxDiff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}: non-finite mismatch at ${i} (${a} vs ${e})`);
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  assert.ok(maxDiff <= tol * scale, `${what}: max |diff| ${maxDiff.toExponential(3)} > ${tol} x ${scale.toFixed(3)}`);
}

export async function assertSameOnBackends(backend: string, reference: string, fn: () => tf.Tensor[], tol: number, what: string): Promise<void> {
  const want = await runOn(reference, fn);
  const got = await runOn(backend, fn);
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i]!, tol, `${what} [output ${i}]`));
}

export interface ConvCase {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly filter: [number, number, number, number];
  readonly strides: number;
  readonly pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  readonly dilation?: number;
}

export const CONV_CASES: readonly ConvCase[] = [
  { name: '3x3 s1 same', x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 s2 same (odd size)', x: [2, 9, 9, 4], filter: [3, 3, 4, 5], strides: 2, pad: 'same' },
  { name: '3x3 s2 same (even size)', x: [2, 8, 8, 4], filter: [3, 3, 4, 6], strides: 2, pad: 'same' },
  { name: '1x1 s2 same (unread last row)', x: [2, 8, 8, 4], filter: [1, 1, 4, 6], strides: 2, pad: 'same' },
  { name: '1x1 s1 valid', x: [3, 4, 4, 5], filter: [1, 1, 5, 7], strides: 1, pad: 'valid' },
  { name: '3x3 s2 valid', x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '5x5 s1 valid', x: [1, 10, 10, 2], filter: [5, 5, 2, 3], strides: 1, pad: 'valid' },
  { name: '4x4 s2 same (asymmetric padding)', x: [1, 9, 9, 2], filter: [4, 4, 2, 3], strides: 2, pad: 'same' },
  {
    name: '3x3 s2 explicit padding',
    x: [1, 9, 8, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
  },
  { name: '3x3 s3 valid (stride above kernel gap)', x: [2, 11, 10, 2], filter: [2, 2, 2, 3], strides: 3, pad: 'valid' },
  // Strided 1x1 filters reading padding: on AVX2 the filter gradient gathers the pixels it reads
  // (native/src/conv.cc), and these are the only cases whose gather reaches the zero fill.
  {
    name: '1x1 s2 explicit padding (gathered zeros)',
    x: [2, 7, 8, 4],
    filter: [1, 1, 4, 6],
    strides: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 0],
      [0, 0],
    ],
  },
  {
    name: '1x1 s3 explicit asymmetric padding',
    x: [1, 8, 7, 3],
    filter: [1, 1, 3, 5],
    strides: 3,
    pad: [
      [0, 0],
      [2, 0],
      [0, 2],
      [0, 0],
    ],
  },
];

/** conv2d output, and the gradients of sum(y * r) for a random r with respect to x and filter. */
export function convWithGrads(c: ConvCase, seed: number): () => tf.Tensor[] {
  const xv = randomArray(seed, c.x);
  const wv = randomArray(seed + 1, c.filter);
  return () => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, c.filter);
    const conv = (xx: tf.Tensor4D, ww: tf.Tensor4D) => tf.conv2d(xx, ww, c.strides, c.pad, 'NHWC', c.dilation ?? 1);
    const y = conv(x, w);
    const r = tf.tensor(randomArray(seed + 2, y.shape), y.shape);
    const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx as tf.Tensor4D, ww as tf.Tensor4D), r)))([x, w]);
    return [y, ...grads];
  };
}

/**
 * Declares the two tests of a loop kernel (ml/backend/loop-io.ts) against its composed reference:
 * on cpu (after `register`), and on the native backend when it is built.
 */
export function testLoopKernelOnBackends(what: string, register: () => void, compareOn: (backend: string) => Promise<void>): void {
  test(`${what} on cpu`, async () => {
    register();
    await compareOn('cpu');
  });
  test(`${what} on the native backend`, { skip: nativeSkip() }, async () => {
    await initBackend('native', { log: () => {} });
    await compareOn('native');
  });
}
