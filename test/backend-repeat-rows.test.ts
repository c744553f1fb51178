// The row-repeat loop kernel (the gradient of a column sum) against tf.tile, and the G-ResNet's
// group batch norm in train mode, whose column sums now use it, against the formula it had before
// (x.sum(0) with tfjs' own Sum gradient, dy * ones): output, batch statistics and the gradients of
// x, weight and bias must agree bit for bit (multiplying by 1 is exact; the demo's digests rest on it).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { columnSum, registerRepeatRows, repeatRows, REPEAT_ROWS_KERNEL } from '../ml/backend/repeat-rows.ts';
import { BatchNorm, BatchNormUpdates } from '../ml/models/batch-norm.ts';
import { ParamStore } from '../ml/models/params.ts';
import { copyData, randomArray, sameBits, testLoopKernelOnBackends } from './backend-compare.ts';

/** The group batch norm's train-mode statistics and output as written before (tfjs' Sum gradient). */
function previousGroupBn(bn: BatchNorm, x: tf.Tensor4D): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [n, h, w, c] = x.shape;
  const g = bn.groupSize;
  const C = bn.channels;
  const rows = n * h * w;
  const count = rows * g;
  const spread = tf.ones([1, g]);
  const perGroup = (v: tf.Tensor1D) =>
    v
      .reshape([C, 1])
      .mul(spread)
      .reshape([C * g]) as tf.Tensor1D;
  const x2 = x.reshape([rows, c]);
  const mean = x2.sum(0).reshape([C, g]).sum(1).div(count) as tf.Tensor1D;
  const centred = x2.sub(perGroup(mean));
  const variance = centred.square().sum(0).reshape([C, g]).sum(1).div(count) as tf.Tensor1D;
  const scale = tf.rsqrt(variance.add(bn.eps)).mul(bn.weight.v) as tf.Tensor1D;
  const y = centred.mul(perGroup(scale)).add(perGroup(bn.bias.v as tf.Tensor1D));
  return { y: y.reshape([n, h, w, c]) as tf.Tensor4D, mean, variance };
}

async function compareOn(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend));
  assert.ok(tf.getKernel(REPEAT_ROWS_KERNEL, backend) !== undefined, `no ${REPEAT_ROWS_KERNEL} kernel on ${backend}`);
  const before = tf.memory().numTensors;

  for (const [rows, c] of [
    [1, 5],
    [7, 3],
    [64, 16],
    [0, 4],
  ] as const) {
    const v = tf.tensor1d(randomArray(rows + c, [c]));
    const [got, want] = tf.tidy(() => [repeatRows(v, rows), tf.tile(v.reshape([1, c]), [rows, 1])]);
    assert.deepEqual(got.shape, [rows, c]);
    sameBits(copyData(got), copyData(want), `repeatRows ${rows}x${c}`);
    tf.dispose([v, got, want]);
  }

  // Mixed magnitudes, and dy with subnormal and signed-zero entries, where a sloppy copy would show.
  const [N, H, W, C, G] = [3, 4, 4, 5, 8];
  const store = new ParamStore();
  const bn = new BatchNorm(store, 'bn', C, G);
  store.materialise({ seed: 0 });
  tf.tidy(() => {
    bn.weight.v.assign(tf.tensor1d(randomArray(1, [C], 0.5, 1.5)));
    bn.bias.v.assign(tf.tensor1d(randomArray(2, [C])));
  });
  const shape = [N, H, W, C * G];
  const xv = randomArray(3, shape).map((v, i) => v * 10 ** ((i % 7) - 3));
  const dyv = randomArray(4, shape).map((v, i) => (i % 11 === 0 ? 1e-41 : i % 13 === 0 ? -0 : v));
  const x = tf.tensor4d(xv, shape as [number, number, number, number]);
  const dy = tf.tensor4d(dyv, shape as [number, number, number, number]);
  const routes = {
    now: (t: tf.Tensor4D, updates: BatchNormUpdates) => bn.apply(t, { mode: 'train', bnUpdates: updates }),
    before: (t: tf.Tensor4D, updates: BatchNormUpdates) => {
      const r = previousGroupBn(bn, t);
      updates.record(bn, r.mean, r.variance, N * H * W * G);
      return r.y;
    },
  };
  const results = Object.fromEntries(
    Object.entries(routes).map(([name, f]) => {
      const updates = new BatchNormUpdates();
      const scratch = new BatchNormUpdates();
      const out = tf.tidy(() => {
        const vars = [bn.weight.v, bn.bias.v] as tf.Variable[];
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x, updates), dy)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D, scratch), dy)))(x);
        return [value, dx, grads[vars[0]!.name]!, grads[vars[1]!.name]!].map(copyData);
      });
      // The recorded batch statistics are part of what must not change.
      const stats = [...(updates as unknown as { pending: { mean: tf.Tensor; variance: tf.Tensor }[] }).pending].flatMap((u) => [
        copyData(u.mean),
        copyData(u.variance),
      ]);
      updates.discard();
      scratch.discard();
      return [name, [...out, ...stats]];
    }),
  );
  const labels = ['loss', 'dx', 'dweight', 'dbias', 'batch mean', 'batch variance'];
  assert.equal(results.now!.length, labels.length);
  labels.forEach((what, i) => sameBits(results.now![i]!, results.before![i]!, `${backend} group batch norm ${what}`));
  assert.ok(
    results.now![1]!.some((v) => v !== 0),
    'zero input gradient',
  );
  store.dispose();
  tf.dispose([x, dy]);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
}

testLoopKernelOnBackends('row repeat equals tile; group batch norm gradients unchanged bit for bit', registerRepeatRows, compareOn);

// The custom gradient is the one a column sum needs: d/dx sum(r * colsum(x)) = r on every row.
testLoopKernelOnBackends('columnSum gradient repeats dy over the rows', registerRepeatRows, async (backend) => {
  assert.ok(await tf.setBackend(backend));
  const r = tf.tensor1d([1, -2, 3]);
  const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(columnSum(x as tf.Tensor2D), r)))(tf.zeros([4, 3]));
  assert.deepEqual(Array.from(dx.dataSync()), [1, -2, 3, 1, -2, 3, 1, -2, 3, 1, -2, 3]);
  tf.dispose([r, dx]);
});
