// Model artifacts: save/load round trips bit for bit for every architecture; bad files fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BatchNormUpdates } from '../ml/models/batch-norm.ts';
import type { ModelConfigInput } from '../ml/models/config.ts';
import { createModel } from '../ml/models/registry.ts';
import { decodeModel, encodeModel, loadModel, saveModel } from '../ml/models/serialize.ts';
import { decodeArchive, encodeArchive } from '../ml/models/archive.ts';

await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'rf-models-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const tiny: ModelConfigInput[] = [
  { arch: 'resnet18', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'resnet50', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1] },
  { arch: 'vgg16', width: 1 / 32, numClasses: 4, inputSize: 32 },
  { arch: 'gresnet18', width: 1 / 16, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1], groupPool: true },
  { arch: 'stn-resnet18', width: 1 / 32, numClasses: 4, inputSize: 16, blocks: [1, 1, 1, 1], loc: { channels: [2, 3], kernels: [3, 3], hidden: 4 } },
  { arch: 'ptn-resnet34', width: 1 / 32, numClasses: 4, inputSize: 8, blocks: [1, 1, 1, 1], originChannels: 3 },
];

const bits = (t: tf.Tensor) => new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

for (const config of tiny) {
  test(`${config.arch}: save then load is bit-identical (weights, running stats, logits)`, () => {
    const model = createModel(config, 7);
    const s = config.inputSize;
    const x = tf.randomUniform([2, s, s, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    // Move the running statistics away from their initial values first.
    const updates = new BatchNormUpdates();
    tf.dispose(model.logits(x, 'train', { bnUpdates: updates }));
    updates.apply();
    const stats = model.namedVariables.filter((v) => v.name.endsWith('running_var'));
    assert.ok(
      stats.some((v) => v.variable.dataSync().some((a) => a !== 1)),
      'running statistics moved',
    );
    const path = join(dir, `${config.arch}.rfmodel`);
    saveModel(model, path);
    const loaded = loadModel(path);
    assert.deepEqual(loaded.config, model.config);
    assert.deepEqual(
      loaded.namedVariables.map((v) => v.name),
      model.namedVariables.map((v) => v.name),
    );
    model.namedVariables.forEach((v, i) => assert.deepEqual(bits(loaded.namedVariables[i]!.variable), bits(v.variable), v.name));
    tf.tidy(() => {
      assert.deepEqual(bits(loaded.logits(x, 'eval')), bits(model.logits(x, 'eval')));
      assert.deepEqual(bits(loaded.features(x)), bits(model.features(x)));
    });
    // Encoding is deterministic: the same model gives the same bytes.
    assert.deepEqual(Buffer.from(encodeModel(loaded)), readFileSync(path));
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });
}

test('no temporary files are left beside a saved model', () => {
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('damaged or mismatched model files fail with messages naming the problem', () => {
  const model = createModel(tiny[0]!, 1);
  const bytes = encodeModel(model);
  const path = join(dir, 'bad.rfmodel');
  writeFileSync(path, bytes.subarray(0, bytes.length - 8));
  assert.throws(() => loadModel(path), /bad\.rfmodel: tensor .* runs past the end/);
  writeFileSync(path, Buffer.concat([Buffer.from('NOTATENS'), bytes.subarray(8)]));
  assert.throws(() => loadModel(path), /bad\.rfmodel: not a robustfeat tensor archive/);
  const archive = decodeArchive(bytes, 'mem');
  const wrongWidth = encodeArchive({ ...archive, meta: { config: { ...tiny[0], width: 1 / 16 } } });
  assert.throws(() => decodeModel(wrongWidth, 'w.rfmodel'), /w\.rfmodel: variable conv1\.weight has shape \[3,3,3,2\], the architecture needs \[3,3,3,4\]/);
  const missing = encodeArchive({ ...archive, tensors: archive.tensors.filter((t) => t.name !== 'linear.bias') });
  assert.throws(() => decodeModel(missing, 'm.rfmodel'), /m\.rfmodel: missing variable linear\.bias/);
  const extra = encodeArchive({ ...archive, tensors: [...archive.tensors, { name: 'stray', shape: [1], data: new Float32Array(1) }] });
  assert.throws(() => decodeModel(extra, 'e.rfmodel'), /e\.rfmodel: variables not in the architecture: stray/);
  const badConfig = encodeArchive({ ...archive, meta: { config: { arch: 'resnet19', numClasses: 4, inputSize: 8 } } });
  assert.throws(() => decodeModel(badConfig, 'c.rfmodel'), /c\.rfmodel: invalid model config/);
  const before = tf.memory().numTensors;
  assert.throws(() => decodeModel(missing, 'm.rfmodel'));
  assert.equal(tf.memory().numTensors, before, 'a failed load leaks no tensors');
  model.dispose();
});

test('an archive header whose tensor list holds a non-object (found by test/fuzz-inputs) is refused naming the file', () => {
  const good = encodeArchive({ kind: 'k', meta: null, tensors: [{ name: 'a', shape: [1], data: Float32Array.of(1) }] });
  const hlen = new DataView(good.buffer).getUint32(12, true);
  for (const entry of [null, 3, 'a', []]) {
    const header = Buffer.from(JSON.stringify({ kind: 'k', meta: null, tensors: [entry] }).padEnd(hlen, ' '), 'utf8');
    assert.equal(header.length, hlen);
    const bytes = Uint8Array.from(good);
    bytes.set(header, 16);
    assert.throws(
      () => decodeArchive(bytes, 'n.rfmodel'),
      new RegExp(`^Error: n\\.rfmodel: bad tensor entry ${JSON.stringify(entry).replace(/[[\]]/g, '\\$&')}$`),
    );
  }
});
