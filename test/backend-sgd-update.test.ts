// The native SGD step (ml/backend/sgd-update.ts, native/src/sgd.cc) against the six composed tfjs ops
// it replaces, bit for bit, and against the formula written out in float32 arithmetic (Math.fround
// after every operation: the float64 result of one operation on floats rounds to the float result).
import { nativeSkip } from './helpers/services.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { SGD_UPDATE_KERNEL, sgdUpdate, type SgdUpdateAttrs } from '../ml/backend/sgd-update.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { copyData, randomArray, sameBits } from './backend-compare.ts';

const skip = nativeSkip();

const awkward = (seed: number, n: number) => randomArray(seed, [n]).map((v, i) => (i % 17 === 0 ? 1e-41 : i % 19 === 0 ? -0 : v * 10 ** ((i % 9) - 4)));

const SETTINGS: readonly SgdUpdateAttrs[] = [
  { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
  { lr: 0.013, momentum: 0.9, weightDecay: 0 },
  { lr: 1e-3, momentum: 0, weightDecay: 1e-2 },
];

test('sgd update: the native kernel equals the composed ops and float32 arithmetic bit for bit', { skip }, async () => {
  await initBackend('native', { threads: 2, log: () => {} });
  const before = tf.memory().numTensors;
  for (const n of [1, 37, 40000]) {
    const [wv, gv, vv] = [awkward(1, n), awkward(2, n), awkward(3, n)];
    for (const s of SETTINGS) {
      const run = (route: 'auto' | 'composed') =>
        tf.tidy(() => {
          const r = sgdUpdate(tf.tensor1d(wv), tf.tensor1d(gv), tf.tensor1d(vv), s, route);
          return [copyData(r.w), copyData(r.v)];
        });
      const [wN, vN] = run('auto');
      const [wC, vC] = run('composed');
      const f = Math.fround;
      const [lr, m, wd] = [f(s.lr), f(s.momentum), f(s.weightDecay)];
      const vF = new Float32Array(n);
      const wF = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const d = s.weightDecay > 0 ? f(gv[i]! + f(wv[i]! * wd)) : gv[i]!;
        vF[i] = f(f(vv[i]! * m) + d);
        wF[i] = f(wv[i]! - f(vF[i]! * lr));
      }
      const what = `n ${n} ${JSON.stringify(s)}`;
      sameBits(wN!, wC!, `${what} w vs composed`);
      sameBits(vN!, vC!, `${what} v vs composed`);
      sameBits(wN!, wF, `${what} w vs float32 formula`);
      sameBits(vN!, vF, `${what} v vs float32 formula`);
    }
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

test('sgd update: Sgd.step runs the native kernel, one call per variable', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const vars = [tf.variable(tf.tensor1d(awkward(4, 50)), true, 'sgd-test-a'), tf.variable(tf.tensor2d(awkward(5, 12), [3, 4]), true, 'sgd-test-b')];
  const opt = new Sgd(
    vars.map((variable, i) => ({ name: `p${i}`, variable, trainable: true })),
    { momentum: 0.9, weightDecay: 5e-4 },
  );
  const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(awkward(6 + i, v.size), v.shape)]));
  const profile = await tf.profile(() => opt.step(grads, 0.05));
  assert.equal(profile.kernels.filter((k) => k.name === SGD_UPDATE_KERNEL).length, 2);
  opt.dispose();
  tf.dispose([...vars, ...Object.values(grads)]);
});

test('sgd update: mismatched shapes are an error naming them', async () => {
  const [a, b] = [tf.zeros([3]), tf.zeros([4])];
  assert.throws(() => sgdUpdate(a, b, a, SETTINGS[0]!), /sgd: weight \[3\], gradient \[4\]/);
  tf.dispose([a, b]);
});
