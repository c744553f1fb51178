// Our ResNet-18 (basic blocks), ResNet-50 (bottlenecks) and VGG-16 against the same networks written
// independently in PyTorch (test/fixtures/models/make_torch_fixtures.py), on tiny widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { modelFromValues } from '../ml/models/registry.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { loadTorchFixture, maxRelErr } from './models-fixtures.ts';

await tf.setBackend('cpu');

for (const name of ['resnet18-tiny', 'resnet50-tiny', 'vgg16-tiny']) {
  test(`${name}: eval logits, eval features and train-mode logits match PyTorch`, () => {
    const fx = loadTorchFixture(name);
    const model = modelFromValues(fx.meta.config as ModelConfigInput, (spec) => fx.get(`init/${spec.name}`));
    const x = tf.tensor4d(fx.get('x0'), fx.shape('x0') as [number, number, number, number]);
    const cases: Array<[string, () => tf.Tensor]> = [
      ['eval/logits', () => model.logits(x, 'eval')],
      ['eval/features', () => model.features(x)],
      ['train/logits', () => model.logits(x, 'train')],
    ];
    for (const [key, run] of cases) {
      const out = run();
      assert.deepEqual(out.shape, fx.shape(key), key);
      const err = maxRelErr(out.dataSync(), fx.get(key), 1e-4);
      assert.ok(err < 3e-4, `${name} ${key}: relative error ${err}`);
      out.dispose();
    }
    x.dispose();
    model.dispose();
  });
}
