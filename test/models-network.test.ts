// Every architecture: shapes, gradients reaching every trainable variable, no tensor leaks,
// batch-norm statistics handling, STN identity at initialisation, and the D_R ReLU pass-through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BatchNormUpdates } from '../ml/models/batch-norm.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { relu } from '../ml/models/layers.ts';
import { createModel, modelFromValues } from '../ml/models/registry.ts';
import type { Model } from '../ml/models/model.ts';

await tf.setBackend('cpu');

const tiny: ModelConfigInput[] = [
  { arch: 'resnet18', width: 1 / 32, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'resnet34', width: 1 / 32, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 2] },
  { arch: 'resnet50', width: 1 / 32, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'vgg16', width: 1 / 32, numClasses: 3, inputSize: 32 },
  { arch: 'gresnet18', width: 1 / 16, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'gresnet34', width: 1 / 16, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 1], groupPool: true },
  { arch: 'stn-resnet18', width: 1 / 32, numClasses: 3, inputSize: 12, blocks: [1, 1, 1, 1], loc: { channels: [2, 3], kernels: [3, 3], hidden: 4 } },
  { arch: 'ptn-resnet18', width: 1 / 32, numClasses: 3, inputSize: 8, blocks: [1, 1, 1, 1], originChannels: 3 },
];

function lossOf(model: Model, x: tf.Tensor4D, updates?: BatchNormUpdates): tf.Scalar {
  const logits = model.logits(x, 'train', updates ? { bnUpdates: updates } : {});
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), logits) as tf.Scalar;
}

for (const config of tiny) {
  test(`${config.arch}: shapes, gradients for every trainable variable, no leaks`, () => {
    const base = tf.memory().numTensors;
    const model = createModel(config, 2);
    const s = config.inputSize;
    const x = tf.randomUniform([4, s, s, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    tf.tidy(() => {
      assert.deepEqual(model.logits(x, 'eval').shape, [4, 3]);
      assert.deepEqual(model.logits(x, 'train').shape, [4, 3]);
      const f = model.features(x);
      assert.equal(f.shape[0], 4);
      assert.equal(f.shape[1], model.namedVariables.find((v) => v.name.endsWith('linear.weight') || v.name === 'classifier.weight')!.variable.shape[0]);
    });
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const updates = new BatchNormUpdates();
      const { value, grads } = tf.variableGrads(() => lossOf(model, x, updates), model.trainableVariables as tf.Variable[]);
      updates.apply();
      for (const v of model.namedVariables.filter((n) => n.trainable)) {
        const g = grads[v.variable.name];
        assert.ok(g, `no gradient for ${v.name}`);
        assert.deepEqual(g.shape, v.variable.shape);
        assert.ok(g.dataSync().every(Number.isFinite), `non-finite gradient for ${v.name}`);
      }
      const nonzero = (name: string) => {
        const v = model.namedVariables.find((n) => n.name === name);
        assert.ok(v, `no variable ${name}`);
        return grads[v.variable.name]!.dataSync().some((a) => a !== 0);
      };
      assert.ok(nonzero(config.arch === 'vgg16' ? 'features.0.weight' : 'conv1.weight'), 'first conv gets a gradient');
      if (config.arch.startsWith('stn')) assert.ok(nonzero('fc_loc.2.weight'), 'the localisation head gets a gradient');
      if (config.arch.startsWith('ptn')) assert.ok(nonzero('origin.9.weight'), 'the origin predictor gets a gradient');
      tf.dispose([value, grads]);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(counts[1], counts[0], `tensor count grows: ${counts}`);
    assert.equal(counts[2], counts[0], `tensor count grows: ${counts}`);
    tf.dispose(x);
    model.dispose();
    // Every tensor the model made (its variables, and constants such as G-ResNet's p4m index tables) goes with it.
    assert.equal(tf.memory().numTensors, base);
    assert.throws(() => model.logits(x, 'eval'), /after dispose/);
  });
}

test('running statistics move only when train-mode statistics are applied', () => {
  const model = createModel(tiny[0]!, 3);
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const rm = () => Array.from(model.namedVariables.find((v) => v.name === 'bn1.running_mean')!.variable.dataSync());
  const start = rm();
  tf.dispose([model.logits(x, 'train'), model.logits(x, 'eval')]);
  assert.deepEqual(rm(), start);
  const updates = new BatchNormUpdates();
  tf.dispose(model.logits(x, 'eval', { bnUpdates: updates }));
  assert.equal(updates.size, 0, 'eval mode records nothing');
  tf.dispose(model.logits(x, 'train', { bnUpdates: updates }));
  assert.equal(updates.size, model.namedVariables.filter((v) => v.name.endsWith('running_mean')).length);
  // (The exact update values are checked against PyTorch in train-step.test.ts.)
  updates.apply();
  assert.notDeepEqual(rm(), start);
  tf.dispose(x);
  model.dispose();
});

test('STN starts as the identity: at initialisation it equals its ResNet backbone', () => {
  const cfg = tiny[6]!;
  const stn = createModel(cfg, 4);
  const plainCfg: ModelConfigInput = { arch: 'resnet18', width: 1 / 32, numClasses: 3, inputSize: 12, blocks: [1, 1, 1, 1] };
  const values = new Map(stn.namedVariables.map((v) => [v.name, v.variable.dataSync() as Float32Array]));
  const plain = modelFromValues(plainCfg, (spec) => values.get(spec.name)!);
  const x = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  tf.tidy(() => {
    const a = stn.logits(x, 'eval').dataSync();
    const b = plain.logits(x, 'eval').dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${a[i]} vs ${b[i]}`);
  });
  tf.dispose(x);
  stn.dispose();
  plain.dispose();
});

test('reluPassThrough: same features, identity gradient through the last ReLU', () => {
  const g = tf.grad((v: tf.Tensor) =>
    relu(v, true)
      .mul(tf.tensor1d([1, 2, 3]))
      .sum(),
  )(tf.tensor1d([-1, 0.5, -2]));
  assert.deepEqual(Array.from(g.dataSync()), [1, 2, 3]);
  const model = createModel(tiny[0]!, 6);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
  tf.tidy(() => {
    assert.deepEqual(Array.from(model.features(x, { reluPassThrough: true }).dataSync()), Array.from(model.features(x).dataSync()));
    const grad = (pass: boolean) =>
      tf
        .grad((v: tf.Tensor) => model.features(v as tf.Tensor4D, { reluPassThrough: pass }).sum())(x)
        .dataSync();
    const a = grad(false),
      b = grad(true);
    assert.ok(
      a.some((v, i) => Math.abs(v - b[i]!) > 1e-6),
      'gradients differ where the last ReLU is inactive',
    );
  });
  tf.dispose(x);
  model.dispose();
});

test('inputs of the wrong shape are rejected with the expected shape', () => {
  const model = createModel(tiny[0]!, 1);
  const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
  assert.throws(() => model.logits(x, 'eval'), /resnet18: expected input \[N, 8, 8, 3\], got \[1,16,16,3\]/);
  tf.dispose(x);
  model.dispose();
});
