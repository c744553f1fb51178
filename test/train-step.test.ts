// Two SGD steps (momentum, weight decay, train-mode batch norm with running-stat updates) against
// PyTorch's torch.optim.SGD on the same tiny networks (test/fixtures/models/make_torch_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { modelFromValues } from '../ml/models/registry.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { Sgd } from '../ml/train/sgd.ts';
import { trainStep } from '../ml/train/step.ts';
import { loadTorchFixture } from './models-fixtures.ts';

await tf.setBackend('cpu');

for (const name of ['resnet18-tiny', 'resnet50-tiny', 'vgg16-tiny']) {
  test(`${name}: two SGD steps give PyTorch's losses, weights and running statistics`, () => {
    const fx = loadTorchFixture(name);
    const meta = fx.meta as { config: ModelConfigInput; lr: number; momentum: number; weightDecay: number; losses: number[] };
    const model = modelFromValues(meta.config, (spec) => fx.get(`init/${spec.name}`));
    const opt = new Sgd(model.namedVariables, { momentum: meta.momentum, weightDecay: meta.weightDecay });
    for (let s = 0; s < 2; s++) {
      const x = tf.tensor4d(fx.get(`x${s}`), fx.shape(`x${s}`) as [number, number, number, number]);
      const y = tf.tensor1d(fx.get(`y${s}`), 'int32');
      const r = trainStep(model, opt, x, y, meta.lr);
      assert.ok(Math.abs(r.loss - meta.losses[s]!) < 1e-5 * Math.max(1, meta.losses[s]!), `step ${s}: loss ${r.loss} vs ${meta.losses[s]}`);
      tf.dispose([x, y]);
    }
    // Error measured against the size of what the two steps changed, so near-zero weights count.
    for (const v of model.namedVariables) {
      const ours = v.variable.dataSync();
      const before = fx.get(`init/${v.name}`);
      const after = fx.get(`after/${v.name}`);
      let change = 0;
      let err = 0;
      for (let i = 0; i < ours.length; i++) {
        change = Math.max(change, Math.abs(after[i]! - before[i]!));
        err = Math.max(err, Math.abs(ours[i]! - after[i]!));
      }
      assert.ok(change > 0, `${v.name} did not change in PyTorch`);
      // + 1e-6: the float32 noise of a conv bias followed by batch norm, whose true gradient is zero
      // (both frameworks move it by rounding noise on top of weight decay).
      assert.ok(err <= 1e-3 * change + 1e-6, `${v.name}: error ${err} against a change of ${change}`);
    }
    opt.dispose();
    model.dispose();
  });
}
