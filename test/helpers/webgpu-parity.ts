// Shared by backend-webgpu.test.ts and bench/gpu.ts: the computations that are run on webgpu and
// on a CPU reference backend (native or tfjs' cpu) and compared. Each returns plain arrays, so the comparison outlives the tensors.
import * as tf from '@tensorflow/tfjs';
import { createModel, modelFromValues } from '../../ml/models/registry.ts';
import type { ModelConfigInput } from '../../ml/models/config.ts';
import { crossEntropy, trainStepAsync } from '../../ml/train/step.ts';
import { Sgd } from '../../ml/train/sgd.ts';
import { pgdBatch } from '../../ml/attacks/pgd.ts';
import { gridAttack } from '../../ml/attacks/spatial.ts';
import { gridMotions } from '../../ml/attacks/grids.ts';
import { Rng } from '../../ml/random.ts';

const demo = { numClasses: 10, inputSize: 32, blocks: [1, 1, 1, 1] };
/** Every architecture at a small width (the batch-invariance test's, plus ResNet-34 and VGG-16). */
export const PARITY_CONFIGS = [
  { arch: 'resnet18', width: 0.125, ...demo },
  { arch: 'resnet34', width: 0.0625, numClasses: 10, inputSize: 32 },
  { arch: 'resnet50', width: 0.0625, ...demo },
  { arch: 'vgg16', width: 0.125, numClasses: 10, inputSize: 32 },
  { arch: 'gresnet18', width: 0.0625, groupPool: true, ...demo },
  { arch: 'stn-resnet18', width: 0.125, ...demo },
  { arch: 'ptn-resnet18', width: 0.125, ...demo },
] as ModelConfigInput[];

export function images(n: number, seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n * 32 * 32 * 3), 0, 1);
}
export function labels(n: number, seed: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => r.int(10));
}

const x4 = (v: Float32Array): tf.Tensor4D => tf.tensor4d(v, [v.length / 3072, 32, 32, 3]);

export interface ForwardBackward {
  readonly evalLogits: Float32Array;
  readonly trainLogits: Float32Array;
  /** Per trainable parameter, in the model's order: its name and the mean loss's gradient. */
  readonly grads: Array<{ name: string; values: Float32Array }>;
}

/** Copies of the tensors' values, read asynchronously (the only read webgpu has in Node); disposes them. */
export async function readAll(ts: readonly tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
  } finally {
    tf.dispose([...ts]);
  }
}

/** Eval- and train-mode logits and every parameter's gradient of a fresh model (seed 1). */
export async function forwardBackward(config: ModelConfigInput, n = 4): Promise<ForwardBackward> {
  const model = createModel(config, 1);
  try {
    const xs = images(n, 7);
    const ys = labels(n, 8);
    const trainable = model.namedVariables.filter((v) => v.trainable);
    const outs = tf.tidy(() => {
      const x = x4(xs);
      const y = tf.tensor1d(ys, 'int32');
      const evalLogits = model.logits(x, 'eval');
      let trainLogits: tf.Tensor | undefined;
      const { grads } = tf.variableGrads(
        () => {
          const l = model.logits(x, 'train');
          trainLogits = tf.keep(l);
          return crossEntropy(l, y);
        },
        trainable.map((v) => v.variable),
      );
      return [evalLogits, trainLogits!, ...trainable.map((v) => grads[v.variable.name]!)];
    });
    const [evalLogits, trainLogits, ...grads] = await readAll(outs);
    return { evalLogits: evalLogits!, trainLogits: trainLogits!, grads: trainable.map((v, i) => ({ name: v.name, values: grads[i]! })) };
  } finally {
    model.dispose();
  }
}

/** `steps` SGD steps of a fresh ResNet-18 (width 0.125, batch 8); losses and the final weights. */
export async function sgdSteps(steps: number, onStep?: (i: number) => void): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = createModel(PARITY_CONFIGS[0]!, 3);
  const sgd = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 5e-4 });
  try {
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const x = x4(images(8, 20 + i));
      const y = tf.tensor1d(labels(8, 40 + i), 'int32');
      losses.push((await trainStepAsync(model, sgd, x, y, 0.1)).loss);
      tf.dispose([x, y]);
      onStep?.(i);
    }
    return { losses, weights: await Promise.all(model.namedVariables.map(async (v) => Float32Array.from(await v.variable.data()))) };
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

/** One L2-PGD step (eps 0.5, step 0.25) of a fresh ResNet-18 on 8 images: the adversarial images and losses. */
export async function pgdStep(): Promise<{ adversarial: Float32Array; loss: Float32Array }> {
  const model = createModel(PARITY_CONFIGS[0]!, 5);
  try {
    const outs = tf.tidy(() => {
      const r = pgdBatch(model, x4(images(8, 50)), tf.tensor1d(labels(8, 51), 'int32'), { norm: 'l2', eps: 0.5, step: 0.25, iterations: 1 });
      return [r.adversarial, r.loss];
    });
    const [adversarial, loss] = await readAll(outs);
    return { adversarial: adversarial!, loss: loss! };
  } finally {
    model.dispose();
  }
}

/**
 * A ResNet-18 (width 0.125) fitted for 30 SGD steps to 6 images labelled 0..5, read out by
 * parameter name: a fresh model gives every image the same class, so no rotation could fool it.
 */
export async function fittedValues(): Promise<Map<string, Float32Array>> {
  const model = createModel(PARITY_CONFIGS[0]!, 6);
  const sgd = new Sgd(model.namedVariables, { momentum: 0.9, weightDecay: 0 });
  try {
    const x = x4(images(6, 60));
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
    for (let i = 0; i < 30; i++) await trainStepAsync(model, sgd, x, y, 0.05);
    tf.dispose([x, y]);
    const values = await Promise.all(model.namedVariables.map(async (v) => Float32Array.from(await v.variable.data())));
    return new Map(model.namedVariables.map((v, i) => [v.name, values[i]!]));
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

/**
 * An exhaustive rot10 grid evaluation (31 rotations) of 6 images by the model with `values`,
 * labelled with its own labels of the unmoved images (so that the identity never fools): which
 * images are robust, the first fooling point of the others, the unmoved images' logits and the
 * label of every (image, rotation) pair.
 */
export async function gridEvaluation(
  values: Map<string, Float32Array>,
): Promise<{ robust: Uint8Array; foolingPoint: Int32Array; logits: Float32Array; labels: Int32Array }> {
  const model = modelFromValues(PARITY_CONFIGS[0]!, (spec) => values.get(spec.name)!);
  try {
    const xs = images(6, 60);
    const [logits] = await readAll([tf.tidy(() => model.logits(x4(xs), 'eval'))]);
    const ys = Int32Array.from({ length: 6 }, (_, i) => {
      const row = logits!.subarray(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
    const motions = gridMotions('rot10');
    // Every (image, point) label the attack computes, recorded through its `known` hook.
    const labelsSeen = new Int32Array(6 * motions.length).fill(-1);
    const known = { get: () => -1, set: (image: number, point: number, label: number) => void (labelsSeen[image * motions.length + point] = label) };
    const r = await gridAttack(model, xs, { height: 32, width: 32, channels: 3 }, ys, motions, { batchSize: 64, exhaustive: true, known });
    return { robust: r.robust, foolingPoint: r.foolingPoint, logits: logits!, labels: labelsSeen };
  } finally {
    model.dispose();
  }
}
