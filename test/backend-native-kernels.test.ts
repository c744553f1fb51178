import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeKernelIsa } from '../ml/backend/native/addon.ts';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { CONV_CASES, assertSameOnBackends, convWithGrads, randomArray } from './backend-compare.ts';

const skip = nativeSkip();
const TOL = 2e-5;

test('native backend starts and reports oneDNN', { skip }, async () => {
  const info = await initBackend('native', { log: () => {} });
  if (info.name !== 'native' || !/oneDNN \d/.test(info.version)) throw new Error(`unexpected info ${JSON.stringify(info)}`);
});

for (const [i, c] of CONV_CASES.entries()) {
  test(`native conv2d, input and filter gradients match cpu: ${c.name}`, { skip }, async () => {
    await initBackend('native', { log: () => {} });
    await assertSameOnBackends('native', 'cpu', convWithGrads(c, 100 + 10 * i), TOL, c.name);
  });
}

test('native conv2d with dilation 2 matches cpu (forward)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const xv = randomArray(7, [2, 9, 9, 3]);
  const wv = randomArray(8, [3, 3, 3, 4]);
  await assertSameOnBackends(
    'native',
    'cpu',
    () => [tf.conv2d(tf.tensor4d(xv, [2, 9, 9, 3]), tf.tensor4d(wv, [3, 3, 3, 4]), 1, 'same', 'NHWC', 2)],
    TOL,
    'dilated conv',
  );
});

test('native fused conv2d (bias, relu) and its gradients match cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const xv = randomArray(9, [2, 6, 6, 3]);
  const wv = randomArray(10, [3, 3, 3, 4]);
  const bv = randomArray(11, [4]);
  await assertSameOnBackends(
    'native',
    'cpu',
    () => {
      const x = tf.tensor4d(xv, [2, 6, 6, 3]);
      const w = tf.tensor4d(wv, [3, 3, 3, 4]);
      const b = tf.tensor1d(bv);
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 1, pad: 'same', bias: bb, activation: 'relu' });
      return [f(x, w, b), ...tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(f(xx, ww, bb))))([x, w, b])];
    },
    TOL,
    'fused conv',
  );
});

const MATMUL_CASES: Array<[number[], number[], boolean, boolean]> = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[2, 5, 7], [2, 7, 3], false, false],
];
// tfjs 4.22 does not reduce BatchMatMul gradients over broadcast batch dims, so these check values only.
const MATMUL_BROADCAST_CASES: Array<[number[], number[]]> = [
  [
    [2, 5, 7],
    [7, 3],
  ],
  [
    [1, 5, 7],
    [4, 7, 3],
  ],
  [
    [3, 5, 7],
    [1, 7, 2],
  ],
];

for (const [i, [sa, sb, ta, tb]] of MATMUL_CASES.entries()) {
  test(`native matMul ${JSON.stringify(sa)}${ta ? 'ᵀ' : ''} x ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''} and gradients match cpu`, { skip }, async () => {
    await initBackend('native', { log: () => {} });
    const av = randomArray(200 + i, sa);
    const bv = randomArray(300 + i, sb);
    await assertSameOnBackends(
      'native',
      'cpu',
      () => {
        const a = tf.tensor(av, sa);
        const b = tf.tensor(bv, sb);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
        return [f(a, b), ...tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(f(x, y))))([a, b])];
      },
      TOL,
      'matMul',
    );
  });
}

test('native matMul with a broadcast batch dimension matches cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [i, [sa, sb]] of MATMUL_BROADCAST_CASES.entries()) {
    const av = randomArray(250 + i, sa);
    const bv = randomArray(350 + i, sb);
    await assertSameOnBackends('native', 'cpu', () => [tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb))], TOL, `matMul ${sa} x ${sb}`);
  }
});

test('native fused matMul (bias, relu) matches cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const av = randomArray(20, [6, 8]);
  const bv = randomArray(21, [8, 4]);
  const cv = randomArray(22, [4]);
  await assertSameOnBackends(
    'native',
    'cpu',
    () => [tf.fused.matMul({ a: tf.tensor2d(av, [6, 8]), b: tf.tensor2d(bv, [8, 4]), bias: tf.tensor1d(cv), activation: 'relu' })],
    TOL,
    'fused matMul',
  );
});

const BINARY_SHAPES: Array<[number[], number[]]> = [
  [
    [2, 3, 4, 5],
    [2, 3, 4, 5],
  ],
  [[2, 3, 4, 5], [5]],
  [[5], [2, 3, 4, 5]],
  [
    [2, 3, 4, 5],
    [2, 1, 1, 1],
  ],
  [[2, 3, 4, 5], []],
  [[], [2, 3, 4, 5]],
  [
    [2, 3, 4, 5],
    [1, 3, 1, 5],
  ], // not a row/column pattern: the cpu fallback runs
  [
    [3, 1],
    [1, 4],
  ],
];
const BINARY_OPS: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
  ['add', tf.add],
  ['sub', tf.sub],
  ['mul', tf.mul],
  ['div', tf.div],
  ['squaredDifference', tf.squaredDifference],
  ['maximum', tf.maximum],
  ['minimum', tf.minimum],
  ['pow', tf.pow],
];

test('native binary ops and their gradients match cpu across broadcast patterns', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [si, [sa, sb]] of BINARY_SHAPES.entries()) {
    for (const [name, op] of BINARY_OPS) {
      const positive = name === 'pow' || name === 'div';
      const av = randomArray(400 + si, sa, positive ? 0.5 : -1, positive ? 2 : 1);
      const bv = randomArray(500 + si, sb, positive ? 0.5 : -1, positive ? 2 : 1);
      await assertSameOnBackends(
        'native',
        'cpu',
        () => {
          const a = tf.tensor(av, sa);
          const b = tf.tensor(bv, sb);
          // tfjs 4.22's squaredDifference, maximum and minimum gradients do not reduce over broadcast
          // axes: values only there.
          const gradsDefined = ['add', 'sub', 'mul', 'div', 'pow'].includes(name) || JSON.stringify(sa) === JSON.stringify(sb);
          const grads = gradsDefined ? tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(op(x, y))))([a, b]) : [];
          return [op(a, b), ...grads];
        },
        TOL,
        `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
      );
    }
  }
});

const UNARY_OPS: Array<[string, (x: tf.Tensor) => tf.Tensor, boolean]> = [
  ['relu', tf.relu, false],
  ['step', (x) => tf.step(x), false],
  ['neg', tf.neg, false],
  ['exp', tf.exp, false],
  ['log', tf.log, true],
  ['sqrt', tf.sqrt, true],
  ['rsqrt', tf.rsqrt, true],
  ['square', tf.square, false],
  ['reciprocal', tf.reciprocal, true],
  ['abs', tf.abs, false],
  ['sign', tf.sign, false],
];

test('native unary ops and their gradients match cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [i, [name, op, positive]] of UNARY_OPS.entries()) {
    const v = randomArray(600 + i, [2, 5, 5, 3], positive ? 0.2 : -2, 2);
    if (!positive) v[0] = 0;
    await assertSameOnBackends(
      'native',
      'cpu',
      () => {
        const x = tf.tensor(v, [2, 5, 5, 3]);
        return [op(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), tf.onesLike(t).mul(1.5))))(x)];
      },
      TOL,
      name,
    );
  }
});

test('native clipByValue and softmax, and their gradients, match cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const v = randomArray(650, [2, 5, 5, 3], -2, 2);
  v[1] = 0;
  v[2] = 1; // the bounds themselves
  v[3] = NaN;
  await assertSameOnBackends(
    'native',
    'cpu',
    () => {
      const x = tf.tensor(v, [2, 5, 5, 3]);
      return [x.clipByValue(0, 1)];
    },
    TOL,
    'clip (with NaN)',
  );
  const finite = v.map((t) => (Number.isNaN(t) ? 0.5 : t * 20)); // large logits: the max shift matters
  await assertSameOnBackends(
    'native',
    'cpu',
    () => {
      const x = tf.tensor(finite, [2, 5, 5, 3]);
      const weights = tf.tensor(randomArray(651, [2, 5, 5, 3]), [2, 5, 5, 3]);
      return [
        tf.softmax(x),
        tf.softmax(x.reshape([10, 15])),
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), weights)))(x),
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t.clipByValue(-1, 1), weights)))(x),
      ];
    },
    TOL,
    'softmax, gradients',
  );
});

const REDUCE_AXES: Array<number | number[]> = [[0, 1, 2], [1, 2, 3], -1, 0, [0, 2], [2, 0, 1]];
const REDUCE_OPS: Array<[string, (x: tf.Tensor, axis: number | number[], keepDims: boolean) => tf.Tensor]> = [
  ['sum', tf.sum],
  ['mean', tf.mean],
  ['max', tf.max],
  ['min', tf.min],
];

test('native reductions and their gradients match cpu (leading, trailing and other axes, keepDims)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const v = randomArray(700, [3, 4, 5, 6]);
  for (const axis of REDUCE_AXES) {
    for (const keepDims of [false, true]) {
      for (const [name, op] of REDUCE_OPS) {
        await assertSameOnBackends(
          'native',
          'cpu',
          () => {
            const x = tf.tensor(v, [3, 4, 5, 6]);
            return [op(x, axis, keepDims), tf.grad((t: tf.Tensor) => tf.sum(tf.square(op(t, axis, keepDims))))(x)];
          },
          TOL,
          `${name} axis ${JSON.stringify(axis)} keepDims ${keepDims}`,
        );
      }
    }
  }
});

const POOL_CASES: Array<[string, 'avg' | 'max', number, number, 'valid' | 'same', number[]]> = [
  ['global 4x4 average', 'avg', 4, 4, 'valid', [2, 4, 4, 5]],
  ['2x2/2 average', 'avg', 2, 2, 'valid', [2, 6, 6, 3]],
  ['3x3/2 average, same (cpu fallback)', 'avg', 3, 2, 'same', [1, 7, 7, 2]],
  ['2x2/2 max', 'max', 2, 2, 'valid', [2, 6, 6, 3]],
  ['3x3/2 max, same', 'max', 3, 2, 'same', [2, 7, 7, 3]],
  ['3x3/1 max, overlapping windows', 'max', 3, 1, 'valid', [1, 6, 5, 4]],
];

test('native pooling and its gradients match cpu (including max ties after relu)', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  for (const [i, [name, kind, f, s, pad, shape]] of POOL_CASES.entries()) {
    const v = randomArray(800 + i, shape);
    const r = randomArray(900 + i, shape);
    await assertSameOnBackends(
      'native',
      'cpu',
      () => {
        const x = tf.relu(tf.tensor4d(v, shape as [number, number, number, number])) as tf.Tensor4D;
        const op = (t: tf.Tensor) => (kind === 'avg' ? tf.avgPool(t as tf.Tensor4D, f, s, pad) : tf.maxPool(t as tf.Tensor4D, f, s, pad));
        const y = op(x);
        const w = tf.tensor(r.subarray(0, y.size), y.shape);
        return [y, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), w)))(x)];
      },
      TOL,
      name,
    );
  }
});

test('native batchNormTrain (fused kernels) matches tf.moments + tf.batchNorm on cpu: values, statistics, gradients', { skip }, async () => {
  const { batchNormTrain } = await import('../ml/backend/batch-norm.ts');
  await initBackend('native', { log: () => {} });
  for (const [i, shape] of [
    [4, 5, 5, 6],
    [3, 7],
    [2, 3, 3, 40],
  ].entries()) {
    const c = shape[shape.length - 1]!;
    const xv = randomArray(1000 + i, shape, -3, 5);
    const sv = randomArray(1100 + i, [c], 0.5, 2);
    const ov = randomArray(1200 + i, [c]);
    const rv = randomArray(1300 + i, shape);
    const fn = () => {
      const x = tf.tensor(xv, shape);
      const s = tf.tensor1d(sv);
      const o = tf.tensor1d(ov);
      const r = tf.tensor(rv, shape);
      const { y, mean, variance } = batchNormTrain(x, s, o, 1e-3);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, b as tf.Tensor1D, d as tf.Tensor1D, 1e-3).y, r)))([
        x,
        s,
        o,
      ]);
      return [y, mean, variance, ...grads];
    };
    await assertSameOnBackends('native', 'cpu', fn, 1e-4, `batchNormTrain ${JSON.stringify(shape)}`);
  }
});

test('native inference batchNorm and its input gradient match cpu', { skip }, async () => {
  await initBackend('native', { log: () => {} });
  const shape = [2, 4, 4, 6];
  const vals = [randomArray(1400, shape), randomArray(1401, [6]), randomArray(1402, [6], 0.2, 2), randomArray(1403, [6]), randomArray(1404, [6], 0.5, 2)];
  await assertSameOnBackends(
    'native',
    'cpu',
    () => {
      const [x, m, v, o, s] = vals.map((a, i) => tf.tensor(a, i === 0 ? shape : [6]));
      const f = (t: tf.Tensor) => tf.batchNorm(t as tf.Tensor4D, m!, v!, o!, s!, 1e-5);
      return [f(x!), tf.grad((t: tf.Tensor) => tf.sum(tf.square(f(t))))(x!)];
    },
    TOL,
    'inference batchNorm',
  );
});

// Both conv paths of native/src/conv.cc (oneDNN's own strided 1x1 filter gradient, and the
// gathered one for jit_1x1:avx2) on one machine: an AVX-512 CPU runs this file again with oneDNN
// capped to AVX2. An AVX2-only CPU already runs the AVX2 kernels above and cannot run AVX-512 ones.
const runningIsa = skip ? undefined : nativeKernelIsa();
const capSkip =
  skip ||
  (process.env['ONEDNN_MAX_CPU_ISA'] !== undefined
    ? 'this run is the capped one'
    : !runningIsa?.startsWith('avx512') && `this CPU runs ${runningIsa} kernels: the AVX2 path ran above, the AVX-512 one needs an AVX-512 CPU`);
if (capSkip && !skip) console.log(`# ${capSkip}`);
test('the same kernel tests capped to AVX2 (ONEDNN_MAX_CPU_ISA) pass, on AVX2 kernels', { skip: capSkip, timeout: 600_000 }, () => {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', fileURLToPath(import.meta.url)], {
    encoding: 'utf8',
    env: { ...env, ONEDNN_MAX_CPU_ISA: 'AVX2', ONEDNN_VERBOSE: '1' },
  });
  assert.equal(r.status, 0, r.stdout.slice(-4000));
  assert.match(r.stdout, /jit_1x1:avx2/, 'the capped run used the AVX2 1x1 kernels');
  assert.doesNotMatch(r.stdout, /avx512/, 'and no AVX-512 kernel');
  assert.match(r.stdout, /# fail 0/);
});
