/**
 * The STN/PTN resampler's and circular padding's gradient kernels as a training step runs them (the
 * sampler's d/dxs and d/dys; its d/dimage is skipped since the image is data): native, and the
 * TypeScript loop kernels (on the cpu backend), against their first formulation
 * (test/helpers/plain-sample-grad.ts, what training ran before: one pass that also fills d/dimage), timed alternately in one
 * process at the demo's shapes, with a check that all give the same bits.
 *   npx tsx bench/sampler-grad.ts [--rounds 5]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, registerBilinearSample } from '../ml/backend/bilinear-sample.ts';
import { WRAP_ROWS_GRAD_KERNEL, registerWrapRows } from '../ml/backend/wrap-rows.ts';
import { Rng } from '../ml/random.ts';
import { plainSampleGrad, plainWrapRowsGrad } from '../test/helpers/plain-sample-grad.ts';
import { benchArg } from './bench-arg.ts';

const rounds = Number(benchArg('rounds', '5'));
const rng = new Rng(1);
const n = 64;
const imageShape: [number, number, number, number] = [n, 32, 32, 3];
const image = rng.fillUniform(new Float32Array(n * 32 * 32 * 3), 0, 1);
// A mildly rotated and shifted sampling grid, as an STN's localisation network produces.
const xs = new Float32Array(n * 32 * 32);
const ys = new Float32Array(n * 32 * 32);
for (let b = 0; b < n; b++) {
  const a = rng.uniform(-0.3, 0.3);
  const [tx, ty] = [rng.uniform(-2, 2), rng.uniform(-2, 2)];
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 32; j++) {
      const q = (b * 32 + i) * 32 + j;
      xs[q] = 15.5 + Math.cos(a) * (j - 15.5) - Math.sin(a) * (i - 15.5) + tx;
      ys[q] = 15.5 + Math.sin(a) * (j - 15.5) + Math.cos(a) * (i - 15.5) + ty;
    }
  }
}
const dySample = rng.fillUniform(new Float32Array(n * 32 * 32 * 3), -1, 1);
const padShape: [number, number, number, number] = [n, 32, 32, 8]; // the padded input's shape
const dyWrap = rng.fillUniform(new Float32Array(n * 34 * 32 * 8), -1, 1);

/** The gradient kernels a training step runs (d/dxs and d/dys; d/dimage is skipped), on the current backend. */
function sampleGrads(): Float32Array[] {
  // Tensors out of the tidy, values read after it (a tidy walks a returned typed array element by element).
  const outs = tf.tidy(() => {
    const inputs = {
      dy: tf.tensor4d(dySample, imageShape),
      image: tf.tensor4d(image, imageShape),
      xs: tf.tensor3d(xs, [n, 32, 32]),
      ys: tf.tensor3d(ys, [n, 32, 32]),
    };
    return tf.engine().runKernel(BILINEAR_SAMPLE_GRAD_POINTS_KERNEL, inputs) as tf.Tensor[];
  });
  const values = outs.map((g) => g.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}
function wrapGrad(): Float32Array {
  const out = tf.tidy(() => {
    const attrs: tf.NamedAttrMap = { pad: 1 };
    return tf.engine().runKernel(WRAP_ROWS_GRAD_KERNEL, { dy: tf.tensor4d(dyWrap, [n, 34, 32, 8]) }, attrs) as tf.Tensor;
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

await initBackend('native', { log: () => {} });
registerBilinearSample();
registerWrapRows();
type Side = 'native' | 'typescript' | 'plain';
const cases: Array<{ name: string; run: Record<Side, () => Float32Array[]> }> = [
  {
    name: `sampler d/dxs, d/dys of [${imageShape}] at 32x32 points`,
    run: {
      native: () => sampleGrads(),
      typescript: () => sampleGrads(),
      plain: () => plainSampleGrad(image, imageShape, xs, ys, dySample).slice(1),
    },
  },
  {
    name: `circular padding d/dx of [${padShape}], pad 1`,
    run: { native: () => [wrapGrad()], typescript: () => [wrapGrad()], plain: () => [plainWrapRowsGrad(dyWrap, padShape, 1)] },
  },
];
const backendOf: Record<Side, string> = { native: 'native', typescript: 'cpu', plain: 'cpu' };
for (const c of cases) {
  const ms: Record<Side, number[]> = { native: [], typescript: [], plain: [] };
  const out: Partial<Record<Side, Float32Array[]>> = {};
  for (let r = 0; r < rounds + 1; r++) {
    for (const side of ['native', 'typescript', 'plain'] as const) {
      await tf.setBackend(backendOf[side]);
      const t0 = performance.now();
      const got = c.run[side]();
      if (r > 0) ms[side].push(performance.now() - t0);
      out[side] = got;
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const bits = (a: Float32Array[]) => a.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')).join();
  const same = bits(out.native!) === bits(out.plain!) && bits(out.typescript!) === bits(out.plain!);
  const [nat, ts, plain] = [median(ms.native), median(ms.typescript), median(ms.plain)];
  console.log(
    `${c.name}: native ${nat.toFixed(2)} ms (${(plain / nat).toFixed(1)}x faster than plain), TypeScript ${ts.toFixed(2)} ms (${(plain / ts).toFixed(1)}x), plain ${plain.toFixed(2)} ms; same bits: ${same ? 'yes' : 'NO'}`,
  );
}
