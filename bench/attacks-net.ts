// A small ResNet-18-like CIFAR network for the attack benchmark, defined weight-for-weight like
// the one in bench/reference/attacks.py so both sides run the same architecture with the same
// (random) weights: stem 3x3 conv + BN + ReLU, four stages of two basic blocks (widths w, 2w, 4w, 8w;
// strides 1, 2, 2, 2; 1x1 conv + BN shortcut when the shape changes), 4x4 average pool, linear.
// Inputs are clamped and normalised inside, as the project's models do (docs/method/models.md#input-normalisation). Throughput only: not the
// project's model code (ml/models/), which a later benchmark can swap in through the same interface.
import * as tf from '@tensorflow/tfjs';
import type { Classifier, FeatureOptions, Mode } from '../ml/models/classifier.ts';
import { Rng } from '../ml/random.ts';

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.2023, 0.1994, 0.201];

/** Weights in a fixed order, tfjs layouts (conv [kh, kw, in, out], linear [in, out]). */
export function benchResNetWeights(width: number, seed: number): NamedTensor[] {
  const rng = new Rng(seed);
  const out: NamedTensor[] = [];
  const add = (name: string, shape: number[], fill: (a: Float32Array) => void) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(data);
    out.push({ name, shape, data });
  };
  const conv = (name: string, k: number, cin: number, cout: number) =>
    add(`${name}.weight`, [k, k, cin, cout], (a) => rng.fillNormal(a, 0, Math.sqrt(2 / (k * k * cin))));
  const bn = (name: string, c: number) => {
    add(`${name}.gamma`, [c], (a) => rng.fillUniform(a, 0.8, 1.2));
    add(`${name}.beta`, [c], (a) => rng.fillUniform(a, -0.1, 0.1));
    add(`${name}.mean`, [c], (a) => rng.fillUniform(a, -0.1, 0.1));
    add(`${name}.var`, [c], (a) => rng.fillUniform(a, 0.8, 1.2));
  };
  conv('stem', 3, 3, width);
  bn('stem.bn', width);
  let cin = width;
  [1, 2, 4, 8].forEach((mult, s) => {
    const cout = width * mult;
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const p = `layer${s + 1}.${b}`;
      conv(`${p}.conv1`, 3, cin, cout);
      bn(`${p}.bn1`, cout);
      conv(`${p}.conv2`, 3, cout, cout);
      bn(`${p}.bn2`, cout);
      if (stride !== 1 || cin !== cout) {
        conv(`${p}.shortcut`, 1, cin, cout);
        bn(`${p}.shortcut.bn`, cout);
      }
      cin = cout;
    }
  });
  add('linear.weight', [cin, 10], (a) => rng.fillNormal(a, 0, Math.sqrt(1 / cin)));
  add('linear.bias', [10], (a) => rng.fillUniform(a, -0.1, 0.1));
  return out;
}

export class BenchResNet implements Classifier {
  readonly config: Readonly<Record<string, unknown>>;
  readonly numClasses = 10;
  private readonly w = new Map<string, tf.Tensor>();
  readonly trainableVariables: readonly tf.Variable[] = [];
  constructor(
    private readonly width: number,
    weights: readonly NamedTensor[],
  ) {
    this.config = { arch: 'bench-resnet18-like', width };
    for (const t of weights) this.w.set(t.name, tf.tensor(t.data, [...t.shape]));
  }
  private get(name: string): tf.Tensor {
    const t = this.w.get(name);
    if (!t) throw new Error(`BenchResNet: no weight ${name}`);
    return t;
  }
  private convBn(x: tf.Tensor4D, name: string, bnName: string, stride: number): tf.Tensor4D {
    const k = this.get(`${name}.weight`) as tf.Tensor4D;
    const y = tf.conv2d(x, k, stride, k.shape[0] === 1 ? 'valid' : 'same');
    return tf.batchNorm(
      y,
      this.get(`${bnName}.mean`) as tf.Tensor1D,
      this.get(`${bnName}.var`) as tf.Tensor1D,
      this.get(`${bnName}.beta`) as tf.Tensor1D,
      this.get(`${bnName}.gamma`) as tf.Tensor1D,
      1e-5,
    );
  }
  private trunk(x: tf.Tensor4D, passThrough: boolean): tf.Tensor2D {
    const norm = tf.div(tf.sub(tf.clipByValue(x, 0, 1), tf.tensor1d(MEAN)), tf.tensor1d(STD)) as tf.Tensor4D;
    let h = tf.relu(this.convBn(norm, 'stem', 'stem.bn', 1));
    let cin = this.width;
    [1, 2, 4, 8].forEach((mult, s) => {
      const cout = this.width * mult;
      for (let b = 0; b < 2; b++) {
        const stride = b === 0 && s > 0 ? 2 : 1;
        const p = `layer${s + 1}.${b}`;
        const a = tf.relu(this.convBn(h, `${p}.conv1`, `${p}.bn1`, stride));
        const r = this.convBn(a, `${p}.conv2`, `${p}.bn2`, 1);
        const sc = stride !== 1 || cin !== cout ? this.convBn(h, `${p}.shortcut`, `${p}.shortcut.bn`, stride) : h;
        const sum = tf.add(r, sc) as tf.Tensor4D;
        h = s === 3 && b === 1 && passThrough ? sum : tf.relu(sum); // forward-only stand-in; throughput bench
        cin = cout;
      }
    });
    return tf.reshape(tf.avgPool(h, 4, 4, 'valid'), [x.shape[0], -1]);
  }
  features(x: tf.Tensor4D, options?: FeatureOptions): tf.Tensor2D {
    return tf.tidy(() => this.trunk(x, options?.reluPassThrough ?? false));
  }
  logits(x: tf.Tensor4D, _mode: Mode): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(this.trunk(x, false), this.get('linear.weight') as tf.Tensor2D), this.get('linear.bias')));
  }
  dispose(): void {
    for (const t of this.w.values()) t.dispose();
  }
}
