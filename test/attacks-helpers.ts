// Tiny models, an in-memory ImageSet and a minimal training loop for the attacks/robust tests.
// Not a test file itself (no .test.ts suffix).
import { imageRngs } from '../ml/attacks/threat.ts';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../ml/data/image-set.ts';
import type { Classifier, FeatureOptions, Mode } from '../ml/models/classifier.ts';
import { Rng } from '../ml/random.ts';
import { initBackend } from '../ml/backend/index.ts';
import { nativeSkip } from './helpers/services.ts';

/**
 * The native backend on one thread where it is built, else tfjs' cpu backend: for tests whose
 * assertions are about what a computation learns or finds, not about one backend's bits.
 */
export async function useNativeOrCpu(): Promise<void> {
  if (nativeSkip() !== false) return useCpu();
  await initBackend('native', { log: () => {}, threads: 1 });
}

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** logits = flatten(x) W + b; features = flatten(x) (so representation inversion has a closed form). */
export class LinearClassifier implements Classifier {
  readonly config: Readonly<Record<string, unknown>>;
  readonly w: tf.Variable<tf.Rank.R2>;
  readonly b: tf.Variable<tf.Rank.R1>;
  constructor(
    readonly numClasses: number,
    weights: Float32Array,
    bias: Float32Array,
  ) {
    const d = weights.length / numClasses;
    this.config = { arch: 'linear', inputs: d, numClasses };
    this.w = tf.variable(tf.tensor2d(weights, [d, numClasses]));
    this.b = tf.variable(tf.tensor1d(bias));
  }
  logits(x: tf.Tensor4D, _mode: Mode): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, this.w), this.b));
  }
  features(x: tf.Tensor4D, _options?: FeatureOptions): tf.Tensor2D {
    return tf.reshape(x, [x.shape[0], -1]);
  }
  get trainableVariables(): readonly tf.Variable[] {
    return [this.w, this.b];
  }
  dispose(): void {
    this.w.dispose();
    this.b.dispose();
  }
}

/** A classifier defined by a function of the batch (for crafted behaviour). */
export class FunctionClassifier implements Classifier {
  readonly config = { arch: 'function' };
  readonly trainableVariables: readonly tf.Variable[] = [];
  constructor(
    readonly numClasses: number,
    private readonly f: (x: tf.Tensor4D) => tf.Tensor2D,
  ) {}
  logits(x: tf.Tensor4D, _mode?: Mode): tf.Tensor2D {
    return tf.tidy(() => this.f(x));
  }
  features(x: tf.Tensor4D): tf.Tensor2D {
    return this.logits(x);
  }
  dispose(): void {}
}

/**
 * Class 1 iff the mean pixel exceeds 0.999: an all-white image is right untouched and wrong under
 * any motion that lets black fill in; a dark image stays class 0 under every motion.
 */
export function brightnessClassifier(): FunctionClassifier {
  return new FunctionClassifier(2, (x) => {
    const m = tf.mean(x, [1, 2, 3]);
    return tf.stack([tf.zerosLike(m), tf.mul(tf.sub(m, 0.999), 1000)], 1) as tf.Tensor2D;
  });
}

// ReLU forward, identity backward: the authors' "fake ReLU" for representation inversion.
const reluPassThrough = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.relu(x),
  gradFunc: (dy: tf.Tensor) => dy,
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Two hidden layers (the trunk, whose output is the penultimate representation) then a linear
 * head; variables are [w1, b1, w2, b2, head weight, head bias].
 */
abstract class TwoLayerClassifier implements Classifier {
  abstract readonly config: Readonly<Record<string, unknown>>;
  protected abstract readonly vars: tf.Variable[];
  constructor(readonly numClasses: number) {}
  protected abstract trunk(x: tf.Tensor4D, passThrough: boolean): tf.Tensor2D;
  features(x: tf.Tensor4D, options?: FeatureOptions): tf.Tensor2D {
    return tf.tidy(() => this.trunk(x, options?.reluPassThrough ?? false));
  }
  logits(x: tf.Tensor4D, _mode: Mode): tf.Tensor2D {
    const [, , , , w, b] = this.vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    return tf.tidy(() => tf.add(tf.matMul(this.trunk(x, false), w as tf.Tensor2D), b));
  }
  get trainableVariables(): readonly tf.Variable[] {
    return this.vars;
  }
  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}

/** conv3x3(c1) ReLU -> conv3x3 stride 2 (c2) ReLU -> global average pool (features) -> linear. */
export class TinyConvNet extends TwoLayerClassifier {
  readonly config: Readonly<Record<string, unknown>>;
  protected readonly vars: tf.Variable[];
  constructor(numClasses: number, channels: number, seed: number, c1 = 6, c2 = 8) {
    super(numClasses);
    this.config = { arch: 'tiny-conv', channels, c1, c2, numClasses };
    const rng = new Rng(seed);
    const he = (shape: number[], fanIn: number) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.variable(tf.tensor(rng.fillNormal(new Float32Array(size), 0, Math.sqrt(2 / fanIn)), shape));
    };
    this.vars = [
      he([3, 3, channels, c1], 9 * channels),
      tf.variable(tf.zeros([c1])),
      he([3, 3, c1, c2], 9 * c1),
      tf.variable(tf.zeros([c2])),
      he([c2, numClasses], c2),
      tf.variable(tf.zeros([numClasses])),
    ];
  }
  protected trunk(x: tf.Tensor4D, passThrough: boolean): tf.Tensor2D {
    const [k1, b1, k2, b2] = this.vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const h1 = tf.relu(tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D;
    const pre = tf.add(tf.conv2d(h1, k2 as tf.Tensor4D, 2, 'same'), b2);
    const h2 = passThrough ? reluPassThrough(pre) : tf.relu(pre);
    return tf.mean(h2, [1, 2]) as tf.Tensor2D;
  }
}

/**
 * flatten -> dense(h1) ReLU -> dense(h2) ReLU (features) -> linear. Trains far faster than the conv
 * net on tfjs's cpu backend, whose convolution filter gradients are slow.
 */
export class TinyMlp extends TwoLayerClassifier {
  readonly config: Readonly<Record<string, unknown>>;
  protected readonly vars: tf.Variable[];
  constructor(numClasses: number, inputs: number, seed: number, h1 = 32, h2 = 16) {
    super(numClasses);
    this.config = { arch: 'tiny-mlp', inputs, h1, h2, numClasses };
    const rng = new Rng(seed);
    const he = (rows: number, cols: number) => tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(rows * cols), 0, Math.sqrt(2 / rows)), [rows, cols]));
    this.vars = [he(inputs, h1), tf.variable(tf.zeros([h1])), he(h1, h2), tf.variable(tf.zeros([h2])), he(h2, numClasses), tf.variable(tf.zeros([numClasses]))];
  }
  protected trunk(x: tf.Tensor4D, passThrough: boolean): tf.Tensor2D {
    const [w1, b1, w2, b2] = this.vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, w1 as tf.Tensor2D), b1)) as tf.Tensor2D;
    const pre = tf.add(tf.matMul(h, w2 as tf.Tensor2D), b2);
    return (passThrough ? reluPassThrough(pre) : tf.relu(pre)) as tf.Tensor2D;
  }
}

/** An ImageSet over arrays in memory. */
export class ArrayImageSet implements ImageSet {
  readonly count: number;
  constructor(
    readonly images: Float32Array,
    readonly labels: Uint8Array,
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    readonly numClasses: number,
  ) {
    this.count = labels.length;
    if (images.length !== this.count * height * width * channels) throw new Error('ArrayImageSet: shape mismatch');
  }
  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const stride = this.height * this.width * this.channels;
    const o = out ?? new Float32Array(indices.length * stride);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      o.set(this.images.subarray(i * stride, (i + 1) * stride), k * stride);
    }
    return o;
  }
}

/**
 * Classes distinguished by a smooth random template each: x = clamp(0.5 + amp * template_y + noise).
 * Smooth templates make the task learnable by a tiny conv net in a few hundred steps.
 */
export function templateData(seed: number, n: number, opts: { size: number; channels: number; classes: number; amp?: number; noise?: number }): ArrayImageSet {
  const { size, channels, classes } = opts;
  const amp = opts.amp ?? 0.3;
  const noise = opts.noise ?? 0.08;
  const rng = new Rng(seed);
  const d = size * size * channels;
  const templates: Float32Array[] = [];
  for (let k = 0; k < classes; k++) {
    const t = new Float32Array(d);
    const fx = rng.uniform(0.5, 2),
      fy = rng.uniform(0.5, 2),
      ph = rng.uniform(0, 2 * Math.PI);
    const cw = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < channels; c++) t[(y * size + x) * channels + c] = Math.sin((2 * Math.PI * (fx * x + fy * y)) / size + ph) * cw[c % 3]!;
    templates.push(t);
  }
  const images = new Float32Array(n * d);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % classes;
    labels[i] = y;
    for (let j = 0; j < d; j++) {
      images[i * d + j] = Math.min(1, Math.max(0, 0.5 + amp * templates[y]![j]! + noise * rng.normal()));
    }
  }
  return new ArrayImageSet(images, labels, size, size, channels, classes);
}

/** Examples [from, to) of an ArrayImageSet as a new set. */
export function sliceSet(set: ArrayImageSet, from: number, to: number): ArrayImageSet {
  const stride = set.height * set.width * set.channels;
  return new ArrayImageSet(set.images.slice(from * stride, to * stride), set.labels.slice(from, to), set.height, set.width, set.channels, set.numClasses);
}

/** Minimal Adam training loop on an ImageSet (mean cross-entropy, 'train' mode). */
export function trainClassifier(model: Classifier, set: ImageSet, opts: { steps: number; batchSize: number; lr: number; seed: number }): void {
  const rng = new Rng(opts.seed);
  const optimizer = tf.train.adam(opts.lr);
  let order = rng.permutation(set.count);
  let pos = 0;
  for (let step = 0; step < opts.steps; step++) {
    if (pos + opts.batchSize > set.count) {
      order = rng.permutation(set.count);
      pos = 0;
    }
    const idx = order.subarray(pos, pos + opts.batchSize);
    pos += opts.batchSize;
    tf.tidy(() => {
      const x = tf.tensor4d(set.gather(idx), [idx.length, set.height, set.width, set.channels]);
      const y = tf.oneHot(
        tf.tensor1d(
          Int32Array.from(idx, (i) => set.labels[i]!),
          'int32',
        ),
        set.numClasses,
      );
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.logits(x, 'train')) as tf.Scalar, false, model.trainableVariables as tf.Variable[]);
    });
  }
  optimizer.dispose();
}

/** Fraction of `set` (or of `images`) that `model` classifies as the set's labels. */
export function accuracyOn(model: Classifier, images: Float32Array, labels: ArrayLike<number>, shape: [number, number, number]): number {
  return tf.tidy(() => {
    const x = tf.tensor4d(images, [labels.length, ...shape]);
    const pred = tf.argMax(model.logits(x, 'eval'), 1).dataSync();
    let right = 0;
    for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) right++;
    return right / labels.length;
  });
}

export interface PlantedOptions {
  readonly size?: number;
  readonly classes?: number;
  /** Per-pixel amplitude of the robust (large, low-frequency) class pattern. */
  readonly robustAmp?: number;
  /** Probability that an image's robust pattern is another class's (so it predicts the label imperfectly). */
  readonly robustFlip?: number;
  /** L2 norm of the non-robust (high-frequency, small) class pattern. */
  readonly nonRobustNorm?: number;
  /** Non-robust pattern of class (y + shift) mod K instead of y (a "swapped" evaluation set). */
  readonly nonRobustShift?: number;
  /** Leave the robust pattern out entirely. */
  readonly noRobust?: boolean;
  readonly noise?: number;
}

/**
 * A minimal planted-feature set (a stand-in until ml/data's synthetic set is on main): each class
 * has a robust pattern (low-frequency, ~2.8 apart in L2 between classes) and a non-robust pattern
 * (a fixed random +-1 pixel pattern scaled to L2 norm 0.3, below the adversarial training eps 0.5).
 * The non-robust pattern always shows the label; the robust one does with probability 1 - robustFlip.
 * Patterns come from `patternSeed`, samples from `seed`. Returns the set and each image's pattern classes.
 */
export function plantedData(
  patternSeed: number,
  seed: number,
  n: number,
  o: PlantedOptions = {},
): { set: ArrayImageSet; robustClass: Uint8Array; nonRobustClass: Uint8Array } {
  const size = o.size ?? 8,
    k = o.classes ?? 4,
    ch = 3,
    d = size * size * ch;
  const pr = new Rng(patternSeed);
  const robust: Float32Array[] = [],
    nonRobust: Float32Array[] = [];
  for (let c = 0; c < k; c++) {
    const r = new Float32Array(d);
    const fx = pr.uniform(-1, 1),
      fy = pr.uniform(-1, 1),
      ph = pr.uniform(0, 2 * Math.PI);
    const cw = [pr.uniform(-1, 1), pr.uniform(-1, 1), pr.uniform(-1, 1)];
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let q = 0; q < ch; q++) r[(y * size + x) * ch + q] = (o.robustAmp ?? 0.2) * Math.sin((2 * Math.PI * (fx * x + fy * y)) / size + ph) * cw[q]! * 1.5;
    robust.push(r);
    const nr = Float32Array.from({ length: d }, () => (pr.bernoulli(0.5) ? 1 : -1));
    const scale = (o.nonRobustNorm ?? 0.3) / Math.sqrt(d);
    nonRobust.push(nr.map((v) => v * scale));
  }
  const rng = new Rng(seed);
  const images = new Float32Array(n * d);
  const labels = new Uint8Array(n),
    robustClass = new Uint8Array(n),
    nonRobustClass = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % k;
    labels[i] = y;
    robustClass[i] = rng.bernoulli(o.robustFlip ?? 0) ? (y + 1 + rng.int(k - 1)) % k : y;
    nonRobustClass[i] = (y + (o.nonRobustShift ?? 0)) % k;
    const a = rng.uniform(0.7, 1.3);
    for (let j = 0; j < d; j++) {
      const v = 0.5 + (o.noRobust ? 0 : a * robust[robustClass[i]!]![j]!) + nonRobust[nonRobustClass[i]!]![j]! + (o.noise ?? 0.1) * rng.normal();
      images[i * d + j] = Math.min(1, Math.max(0, v));
    }
  }
  return { set: new ArrayImageSet(images, labels, size, size, ch, k), robustClass, nonRobustClass };
}

/** Madry-style adversarial training: every batch is replaced by its L2-PGD adversarial examples. */
export function adversarialTrain(
  model: Classifier,
  set: ImageSet,
  opts: { steps: number; batchSize: number; lr: number; seed: number },
  /** Returns the adversarial batch for (x, y); called inside a tidy. */
  pgd: (x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D,
): void {
  const rng = new Rng(opts.seed);
  const optimizer = tf.train.adam(opts.lr);
  for (let step = 0; step < opts.steps; step++) {
    const idx = Int32Array.from({ length: opts.batchSize }, () => rng.int(set.count));
    tf.tidy(() => {
      const x = tf.tensor4d(set.gather(idx), [idx.length, set.height, set.width, set.channels]);
      const yi = tf.tensor1d(
        Int32Array.from(idx, (i) => set.labels[i]!),
        'int32',
      );
      const xAdv = pgd(x, yi);
      const y = tf.oneHot(yi, set.numClasses);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.logits(xAdv, 'train')) as tf.Scalar, false, model.trainableVariables as tf.Variable[]);
    });
  }
  optimizer.dispose();
}

/** One random stream per image 0..n-1, as the attacks draw them (ml/attacks/threat.ts). */
export const rngsFor = (n: number, seed: number) =>
  imageRngs(
    seed,
    'test',
    Array.from({ length: n }, (_, i) => i),
  );

/**
 * The smallest perturbation (L2 or Linf, box ignored) that makes some class j beat y on a linear
 * model with weights w (d x k, row-major) and bias b: min over j of m_j / ||w_y - w_j||_q, q the
 * dual norm (2 for L2, 1 for Linf), with m_j = (w_y - w_j).x + b_y - b_j. Also the class that
 * attains it.
 */
export function minimalFlip(w: Float32Array, b: Float32Array, k: number, x: Float32Array, y: number, norm: 'l2' | 'linf'): { dist: number; cls: number } {
  const d = w.length / k;
  let best = { dist: Infinity, cls: -1 };
  for (let j = 0; j < k; j++) {
    if (j === y) continue;
    let m = b[y]! - b[j]!;
    let dual = 0;
    for (let p = 0; p < d; p++) {
      const diff = w[p * k + y]! - w[p * k + j]!;
      m += diff * x[p]!;
      dual += norm === 'l2' ? diff * diff : Math.abs(diff);
    }
    const dist = m / (norm === 'l2' ? Math.sqrt(dual) : dual);
    if (dist < best.dist) best = { dist, cls: j };
  }
  return best;
}

/** The predicted class of every row of a (rows x k) logits array. */
export function argmaxRows(logits: Float32Array, k: number): number[] {
  return Array.from({ length: logits.length / k }, (_, i) => {
    let a = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + a]!) a = j;
    return a;
  });
}
