// The group batch norm's fused native kernels (ml/backend/group-batch-norm.ts, native/src/group_bn.cc)
// against the composed tfjs ops they replace, bit for bit: outputs, batch statistics and the
// gradients of x, weight and bias, each fused op alone and the whole layer, on shapes that take
// the kernels' threaded paths (2 threads) and the serial ones; with mixed magnitudes, subnormals
// and signed zeros, where an FMA or a reordered sum would show. Plus an independent float64
// computation of the forward pass, and a check that the fused kernels really ran.
import { nativeSkip } from './helpers/services.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import {
  affineRows,
  centreGroups,
  GBN_AFFINE_GRAD_KERNEL,
  GBN_AFFINE_KERNEL,
  GBN_CENTRE_GRAD_KERNEL,
  GBN_CENTRE_KERNEL,
  type GroupBnRoute,
} from '../ml/backend/group-batch-norm.ts';
import { groupBatchNormTrain } from '../ml/models/batch-norm.ts';
import { copyData, randomArray, sameBits } from './backend-compare.ts';

const skip = nativeSkip();

/** Values over 7 orders of magnitude, a few subnormals and signed zeros. */
function awkward(seed: number, shape: readonly number[], scale = 1): Float32Array {
  return randomArray(seed, shape).map((v, i) => (i % 17 === 0 ? 1e-41 : i % 19 === 0 ? -0 : v * scale * 10 ** ((i % 7) - 3)));
}

// [rows, C, g]: serial (rows * c < 2^15) and threaded, odd field counts (uneven column split).
const CASES: ReadonlyArray<readonly [number, number, number]> = [
  [5, 1, 8],
  [96, 3, 8],
  [4096, 3, 8],
  [2048, 5, 8],
  [1500, 7, 2],
];

/** The whole layer's forward values and gradients on one route. */
function layer(route: GroupBnRoute, rows: number, C: number, g: number, seed: number, relu: boolean): Float32Array[] {
  const c = C * g;
  return tf.tidy(() => {
    const x = tf.tensor2d(awkward(seed, [rows, c], 4), [rows, c]);
    const w = tf.tensor1d(randomArray(seed + 1, [C], 0.5, 1.5));
    const b = tf.tensor1d(randomArray(seed + 2, [C]));
    const dy = tf.tensor2d(awkward(seed + 3, [rows, c]), [rows, c]);
    const r = groupBatchNormTrain(x, w, b, g, 1e-5, route, relu);
    const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(groupBatchNormTrain(xx as tf.Tensor2D, ww as tf.Tensor1D, bb as tf.Tensor1D, g, 1e-5, route, relu).y, dy)),
    )([x, w, b]);
    return [r.y, r.mean, r.variance, ...grads].map(copyData);
  });
}

test('group batch norm: fused native kernels equal the composed ops bit for bit, with and without the ReLU after it', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  const before = tf.memory().numTensors;
  const labels = ['y', 'mean', 'variance', 'dx', 'dweight', 'dbias'];
  for (const relu of [false, true]) {
    for (const [rows, C, g] of CASES) {
      const fused = layer('auto', rows, C, g, rows + C, relu);
      const composed = layer('composed', rows, C, g, rows + C, relu);
      labels.forEach((what, i) => sameBits(fused[i]!, composed[i]!, `${rows}x${C}x${g}${relu ? ' relu' : ''} ${what}`));
      assert.ok(fused[3]!.some((v) => v !== 0) && fused[4]!.some((v) => v !== 0), 'zero gradients');
      if (relu) assert.ok(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v > 0), 'the ReLU must cut some values and pass others');
    }
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

test('group batch norm: each fused op and its gradient equal the composed ops bit for bit', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  for (const [rows, C, g] of [
    [3, 5, 1],
    [4096, 3, 8],
    [777, 41, 1],
    [200, 7, 4],
  ] as const) {
    const c = C * g;
    const run = (route: GroupBnRoute) =>
      tf.tidy(() => {
        const x = tf.tensor2d(awkward(1, [rows, c], 3), [rows, c]);
        const s = tf.tensor1d(awkward(3, [c]));
        const b = tf.tensor1d(awkward(4, [c]));
        const r1 = tf.tensor2d(awkward(5, [rows, c]), [rows, c]);
        const r2 = tf.tensor1d(awkward(6, [c], 100));
        const { centred, sqSum, mean } = centreGroups(x, g, route);
        const y = affineRows(x, s, b, route);
        const yRelu = affineRows(x, s, b, route, true);
        const [gCentre] = tf.grads((xx: tf.Tensor) => {
          const o = centreGroups(xx as tf.Tensor2D, g, route);
          return tf.add(tf.sum(tf.mul(o.centred, r1)), tf.sum(tf.mul(o.sqSum, r2)));
        })([x]);
        const gAffine = tf.grads((xx: tf.Tensor, ss: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(affineRows(xx as tf.Tensor2D, ss as tf.Tensor1D, bb as tf.Tensor1D, route), r1)),
        )([x, s, b]);
        const gAffineRelu = tf.grads((xx: tf.Tensor, ss: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(affineRows(xx as tf.Tensor2D, ss as tf.Tensor1D, bb as tf.Tensor1D, route, true), r1)),
        )([x, s, b]);
        return [centred, sqSum, mean, y, gCentre!, ...gAffine, yRelu, ...gAffineRelu].map(copyData);
      });
    const fused = run('auto');
    const composed = run('composed');
    const names = ['centred', 'sqSum', 'mean', 'affine', 'd centre/dx', 'd affine/dx', 'd affine/ds', 'd affine/db'];
    [...names, 'relu(affine)', 'd relu(affine)/dx', 'd relu(affine)/ds', 'd relu(affine)/db'].forEach((what, i) =>
      sameBits(fused[i]!, composed[i]!, `${rows}x${C}x${g} ${what}`),
    );
  }
});

test('group batch norm: the fused kernels run on native and agree with a float64 computation', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  const [rows, C, g] = [512, 3, 8];
  const c = C * g;
  const xv = randomArray(9, [rows, c], -2, 3);
  const wv = randomArray(10, [C], 0.5, 1.5);
  const bv = randomArray(11, [C]);
  const profile = await tf.profile(() => {
    const x = tf.tensor2d(xv, [rows, c]);
    const [w, b] = [tf.tensor1d(wv), tf.tensor1d(bv)];
    const grads = tf.grads((xx: tf.Tensor) => tf.sum(tf.square(groupBatchNormTrain(xx as tf.Tensor2D, w, b, g, 1e-5).y)))([x]);
    tf.dispose([x, w, b, ...grads]);
  });
  const ran = new Set(profile.kernels.map((k) => k.name));
  for (const k of [GBN_CENTRE_KERNEL, GBN_AFFINE_KERNEL, GBN_CENTRE_GRAD_KERNEL, GBN_AFFINE_GRAD_KERNEL]) assert.ok(ran.has(k), `${k} did not run`);

  const r = tf.tidy(() => {
    const o = groupBatchNormTrain(tf.tensor2d(xv, [rows, c]), tf.tensor1d(wv), tf.tensor1d(bv), g, 1e-5);
    return [o.y, o.mean, o.variance].map(copyData);
  });
  for (let f = 0; f < C; f++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < rows; i++) for (let s = 0; s < g; s++) sum += xv[i * c + f * g + s]!;
    const mean = sum / (rows * g);
    for (let i = 0; i < rows; i++) for (let s = 0; s < g; s++) sq += (xv[i * c + f * g + s]! - mean) ** 2;
    const variance = sq / (rows * g);
    assert.ok(Math.abs(r[1]![f]! - mean) < 1e-6 && Math.abs(r[2]![f]! - variance) < 1e-5 * variance, `field ${f} statistics`);
    for (let i = 0; i < rows; i += 37) {
      for (let s = 0; s < g; s++) {
        const want = ((xv[i * c + f * g + s]! - mean) / Math.sqrt(variance + 1e-5)) * wv[f]! + bv[f]!;
        assert.ok(Math.abs(r[0]![i * c + f * g + s]! - want) < 1e-5, `y[${i}, ${f * g + s}]`);
      }
    }
  }
});

test('group batch norm: the fused ops reject mismatched shapes with their names', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const x = tf.zeros([4, 6]) as tf.Tensor2D;
  const v = tf.zeros([5]) as tf.Tensor1D;
  assert.throws(() => centreGroups(x, 4), /centreGroups: expected x \[rows, C \* 4\], got \[4,6\]/);
  assert.throws(() => affineRows(x, v, v), /affineRows: expected x \[rows, c\]/);
  tf.dispose([x, v]);
});
