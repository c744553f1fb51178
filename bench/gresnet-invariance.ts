// How far a G-ResNet with group pooling is from invariant under the 8 p4m transforms of its input
// (a measurement, not a speed benchmark). Theory: exact where every layer's sampling grid is closed
// under the group, i.e. stride-1 layers and stride-2 layers on odd-sized maps; the CIFAR network's
// stride-2 layers on even-sized maps (32 -> 16 -> 8 -> 4) break it. Freshly initialised weights,
// eval mode, uniform random inputs.
//
//   npx tsx bench/gresnet-invariance.ts [arch=gresnet18] [width=0.25] [batch=4]
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../ml/models/registry.ts';
import { warpBatch } from '../ml/transform/rigid.ts';

await tf.setBackend('cpu');
const arch = (process.argv[2] ?? 'gresnet18') as 'gresnet18' | 'gresnet34';
const width = Number(process.argv[3] ?? 0.25);
const batch = Number(process.argv[4] ?? 4);

function transform(x: Float32Array, n: number, size: number, u: number): Float32Array {
  const shape = { n, height: size, width: size, channels: 3 };
  const rotated = warpBatch(x, shape, { angleDeg: 90 * (u % 4), tx: 0, ty: 0 });
  if (u < 4) return rotated;
  const out = new Float32Array(rotated.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        for (let c = 0; c < 3; c++) {
          out[((b * size + i) * size + j) * 3 + c] = rotated[((b * size + i) * size + (size - 1 - j)) * 3 + c]!;
        }
  return out;
}

const names = ['rot90', 'rot180', 'rot270', 'mirror', 'rot90+mirror', 'rot180+mirror', 'rot270+mirror'];
for (const size of [32, 33]) {
  const model = createModel({ arch, width, numClasses: 10, inputSize: size, groupPool: true }, 1);
  const x = new Float32Array(batch * size * size * 3).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const base = tf.tidy(() => {
    const t = tf.tensor4d(x, [batch, size, size, 3]);
    return { logits: model.logits(t, 'eval'), features: model.features(t) };
  });
  const rows: string[] = [];
  for (let u = 1; u < 8; u++) {
    const [dl, df, flips] = tf.tidy(() => {
      const t = tf.tensor4d(transform(x, batch, size, u), [batch, size, size, 3]);
      const l = model.logits(t, 'eval');
      const f = model.features(t);
      const rel = (a: tf.Tensor, b: tf.Tensor) => tf.norm(a.sub(b)).dataSync()[0]! / tf.norm(b).dataSync()[0]!;
      const changed = l.argMax(1).notEqual(base.logits.argMax(1)).sum().dataSync()[0]!;
      return [rel(l, base.logits), rel(f, base.features), changed];
    });
    rows.push(`  ${names[u - 1]!.padEnd(14)} logits ${dl.toExponential(2)}  features ${df.toExponential(2)}  argmax changed ${flips}/${batch}`);
  }
  console.log(`${arch} width ${width}, ${size}x${size}, group pooling: relative change |f(Tx) - f(x)| / |f(x)|`);
  console.log(rows.join('\n'));
  tf.dispose([base.logits, base.features]);
  model.dispose();
}
