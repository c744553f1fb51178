// APGD-CE against an independent PyTorch implementation written from the paper
// (test/fixtures/attacks/make_apgd_fixture.py), on a small MLP trained there, from the same starts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { apgdBatch } from '../ml/attacks/apgd.ts';
import { imageRngs } from '../ml/attacks/threat.ts';
import { FunctionClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

interface Fixture {
  size: number;
  channels: number;
  classes: number;
  hidden: number;
  w1: string;
  b1: string;
  w2: string;
  b2: string;
  images: string;
  labels: number[];
  cases: { norm: 'l2' | 'linf'; eps: number; iterations: number; start: string; fooled: number[]; bestLoss: number[] }[];
}

const f32 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};

test('APGD-CE agrees with the PyTorch reference on a trained MLP: outcomes and best losses per image', (t) => {
  const fx = JSON.parse(readFileSync(new URL('./fixtures/attacks/apgd-ce.json', import.meta.url), 'utf8')) as Fixture;
  const d = fx.size * fx.size * fx.channels;
  const [w1, b1, w2, b2] = [
    tf.tensor2d(f32(fx.w1), [d, fx.hidden]),
    tf.tensor1d(f32(fx.b1)),
    tf.tensor2d(f32(fx.w2), [fx.hidden, fx.classes]),
    tf.tensor1d(f32(fx.b2)),
  ];
  const model = new FunctionClassifier(
    fx.classes,
    (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]), w1), b1)), w2), b2) as tf.Tensor2D,
  );
  const n = fx.labels.length;
  const shape: [number, number, number, number] = [n, fx.size, fx.size, fx.channels];
  const x = tf.tensor4d(f32(fx.images), shape);
  const y = tf.tensor1d(fx.labels, 'int32');
  for (const c of fx.cases) {
    const start = tf.tensor4d(f32(c.start), shape);
    const r = apgdBatch(model, x, y, {
      norm: c.norm,
      eps: c.eps,
      iterations: c.iterations,
      restarts: 1,
      loss: 'ce',
      start,
      // The reference walks every image to the end, so its best losses are over all iterations.
      untilFooled: false,
      rngs: imageRngs(0, 'unused', [...fx.labels.keys()]),
    });
    const where = `${c.norm} eps=${c.eps.toFixed(4)}`;
    const agree = [...r.fooled].filter((v, i) => v === c.fooled[i]).length;
    // The walks are deterministic from the shared start, but float32 sums in another order may put
    // an iterate on the other side of a decision boundary or a sign: allow one image in 64.
    assert.ok(
      agree >= n - 1,
      `${where}: outcomes agree on ${agree} of ${n} (ours ${r.fooled.reduce((a, v) => a + v, 0)} fooled, PyTorch ${c.fooled.reduce((a, v) => a + v, 0)})`,
    );
    let close = 0;
    for (let i = 0; i < n; i++) if (Math.abs(r.loss[i]! - c.bestLoss[i]!) <= 1e-3 * Math.max(1, Math.abs(c.bestLoss[i]!))) close++;
    assert.ok(close >= n - 2, `${where}: best losses within 1e-3 on ${close} of ${n}`);
    t.diagnostic(`${where}: outcomes agree on ${agree} of ${n}, best losses within 1e-3 on ${close}`);
    tf.dispose([start, r.adversarial]);
  }
  tf.dispose([x, y, w1, b1, w2, b2]);
});
