// The p4m filter expansion cache (P4MConv.expandedKernel): repeated expansions outside a gradient
// tape come from the cache with the same bits, a changed weight is never served stale, and under
// a tape the expansion is recorded so weight gradients still flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { nativeSkip } from './helpers/services.ts';
import { P4MConv } from '../ml/models/p4m.ts';
import { ParamStore } from '../ml/models/params.ts';
import { sameBits } from './backend-compare.ts';

const backends = ['cpu', ...(nativeSkip() ? [] : ['native'])];
if (!backends.includes('native')) console.log('# models-p4m-cache: native backend absent, testing cpu only');

for (const backend of backends) {
  test(`${backend}: cached p4m expansions equal fresh ones, follow weight changes and keep weight gradients`, async () => {
    await initBackend(backend === 'native' ? 'native' : 'cpu', { log: () => {} });
    const store = new ParamStore();
    const conv = new P4MConv(store, 'c', 3, 4, 3, false, 1, 1);
    store.materialise({ seed: 5 });
    const fresh = () => {
      const t = conv.composedExpandedKernel();
      const v = Float32Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const served = () => {
      const t = conv.expandedKernel();
      const v = Float32Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const before = tf.memory().numTensors;
    const first = served();
    const second = served();
    sameBits(first, fresh(), 'first expansion');
    sameBits(second, first, 'cached expansion');
    // An assigned weight (an optimiser step) is never served from the old cache entry.
    const w = conv.weight.v;
    const changed = tf.tidy(() => w.mul(-2));
    w.assign(changed);
    changed.dispose();
    const third = served();
    sameBits(third, fresh(), 'expansion after the weight changed');
    assert.ok(
      third.some((v, i) => v !== first[i]),
      'the weight change is visible',
    );
    assert.equal(tf.memory().numTensors, before, 'the cache holds no tensors');
    // Under a tape the expansion is recorded: the weight gets its gradient.
    const x = tf.randomUniform([2, 5, 5, 24], -1, 1, 'float32', 3) as tf.Tensor4D;
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(conv.apply(x))) as tf.Scalar, [w]);
    const g = grads[w.name]!;
    assert.ok(
      g.dataSync().some((v) => v !== 0),
      'the weight gets a non-zero gradient',
    );
    tf.dispose([x, g]);
    store.dispose();
  });
}
