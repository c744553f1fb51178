// The model cache (ml/models/model-cache.ts): keyed by content, never serving other bytes or a
// model a caller changed; and every architecture leaves no tensor behind once disposed, which a
// worker that runs many nodes relies on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend/index.ts';
import { tensorEngineState } from '../ml/backend/engine-state.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { ModelCache } from '../ml/models/model-cache.ts';
import { createModel } from '../ml/models/registry.ts';
import { saveModel } from '../ml/models/serialize.ts';

// cpu registers the project's loop kernels (p4m expansion, bilinear sampling) as native does.
await initBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'rf-model-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config: ModelConfigInput = { arch: 'resnet18', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1] };
const values = (m: { namedVariables: readonly { variable: tf.Variable }[] }) => m.namedVariables.map((v) => Array.from(v.variable.dataSync()));
const nothing = { tensors: 0, dataBuffers: 0, variables: 0 };

test('the same bytes are served from the cache; other bytes at the same path never are', () => {
  const base = tensorEngineState(nothing);
  const cache = new ModelCache();
  const path = join(dir, 'm.model');
  const a = createModel(config, 1);
  const b = createModel(config, 2);
  const [va, vb] = [values(a), values(b)];
  assert.notDeepEqual(va, vb);
  saveModel(a, path);
  const first = cache.load(path);
  assert.deepEqual(values(first), va);
  assert.equal(cache.load(path), first, 'same bytes: the cached model');
  assert.equal(cache.hits, 1);
  saveModel(b, path); // same path, other content
  const second = cache.load(path);
  assert.notEqual(second, first);
  assert.deepEqual(values(second), vb, 'other bytes: the model those bytes hold');
  assert.ok(
    first.namedVariables.every((v) => v.variable.isDisposed),
    'the evicted model was disposed',
  );
  // Same bytes at another path: the same entry (the key is the content).
  saveModel(b, join(dir, 'copy.model'));
  assert.equal(cache.load(join(dir, 'copy.model')), second);
  a.dispose();
  b.dispose();
  // What the cache holds is what tensorEngineState leaves out; clearing it leaves nothing.
  assert.deepEqual(tensorEngineState(cache.held()), base);
  cache.clear();
  assert.deepEqual(tensorEngineState(nothing), base);
});

test('a cached model a caller changed or disposed is not served again', () => {
  const cache = new ModelCache();
  const path = join(dir, 'n.model');
  const m = createModel(config, 3);
  const original = values(m);
  saveModel(m, path);
  m.dispose();
  const loaded = cache.load(path);
  const v = loaded.namedVariables[0]!.variable;
  v.assign(tf.zerosLike(v));
  const again = cache.load(path);
  assert.notEqual(again, loaded);
  assert.deepEqual(values(again), original, 'reloaded from the file');
  again.dispose();
  const third = cache.load(path);
  assert.notEqual(third, again);
  assert.deepEqual(values(third), original);
  cache.clear();
  loaded.dispose();
});

test('a cached model that was used (a G-ResNet builds its p4m index tables) holds what it held when loaded', () => {
  const base = tensorEngineState(nothing);
  const cache = new ModelCache();
  const path = join(dir, 'g.model');
  const g = { arch: 'gresnet18', width: 1 / 16, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1], groupPool: true } as const;
  const m = createModel(g, 5);
  saveModel(m, path);
  m.dispose();
  const loaded = cache.load(path);
  tf.tidy(() => {
    loaded.logits(tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D, 'eval');
  });
  assert.deepEqual(tensorEngineState(cache.held()), base, 'a worker would take the used model for a leak');
  cache.clear();
  assert.deepEqual(tensorEngineState(nothing), base);
});

const architectures: ModelConfigInput[] = [
  config,
  { arch: 'resnet50', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'vgg16', width: 1 / 32, numClasses: 4, inputSize: 32 },
  { arch: 'gresnet18', width: 1 / 16, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1], groupPool: true },
  { arch: 'stn-resnet18', width: 1 / 32, numClasses: 4, inputSize: 16, blocks: [1, 1, 1, 1], loc: { channels: [2, 3], kernels: [3, 3], hidden: 4 } },
  { arch: 'ptn-resnet18', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1], originChannels: 3 },
];
for (const c of architectures) {
  test(`${c.arch}: a forward pass then dispose() leaves no tensor behind`, () => {
    const before = tensorEngineState(nothing);
    const m = createModel(c, 4);
    const s = c.inputSize;
    tf.tidy(() => {
      m.logits(tf.randomUniform([2, s, s, 3], 0, 1, 'float32', 1) as tf.Tensor4D, 'eval');
    });
    m.dispose();
    assert.deepEqual(tensorEngineState(nothing), before);
  });
}
