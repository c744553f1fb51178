import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { availableBackends, currentBackendInfo, initBackend, initFastestBackend, parseBackendChoice } from '../ml/backend/index.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';

const quiet = { log: () => {} };
const root = fileURLToPath(new URL('..', import.meta.url));

test('parseBackendChoice accepts the six choices and names the source of a bad one', () => {
  for (const c of ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu']) assert.equal(parseBackendChoice(c, 'x'), c);
  assert.throws(
    () => parseBackendChoice('gpu', 'params.yaml: profiles.demo.backend'),
    /params\.yaml: profiles\.demo\.backend: backend must be one of auto, tensorflow, webgpu, native, wasm, cpu; got "gpu"/,
  );
  assert.throws(() => parseBackendChoice(3, '--backend'), /--backend: .*got 3/);
});

test('initBackend(cpu) switches tfjs to cpu and returns a JSON-serialisable record', async () => {
  const lines: string[] = [];
  const info = await initBackend('cpu', { log: (l) => lines.push(l) });
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(info.name, 'cpu');
  assert.equal(info.choice, 'cpu');
  assert.match(info.version, /tfjs-core 4\.22/);
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
  assert.deepEqual(currentBackendInfo(), info);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /backend: cpu .*1 thread/);
});

test('initBackend(wasm) is idempotent and records the wasm version and kernel set', async () => {
  const a = await initBackend('wasm', quiet);
  const b = await initBackend('wasm', quiet);
  assert.deepEqual(a, b);
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(a.version, /tfjs-backend-wasm 4\.22\.0/);
  assert.equal(a.threads, 1);
  assert.match(a.projectKernels, /^wasm-kernels-/);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined);
});

test("initBackend('tensorflow') without tfjs-node explains how to install it", async (t) => {
  if ((await availableBackends()).includes('tensorflow')) return t.skip('tfjs-node is installed here');
  await assert.rejects(initBackend('tensorflow', quiet), /not installed: install it with `npm install --no-save @tensorflow\/tfjs-node-gpu/);
});

test("initBackend('native') starts oneDNN where built, and says how to build it where not", async () => {
  if (loadNativeAddon() === undefined) {
    await assert.rejects(initBackend('native', quiet), /npm run build:native/);
  } else {
    const info = await initBackend('native', { ...quiet, threads: 1 });
    assert.equal(info.threads, 1);
    assert.equal(tf.getBackend(), 'native');
    const again = await initBackend('native', quiet);
    assert.ok(again.threads >= 1);
  }
});

test('auto picks native when built, else wasm; initFastestBackend is auto', async () => {
  const expected = loadNativeAddon() !== undefined ? 'native' : 'wasm';
  const info = await initFastestBackend(quiet);
  assert.equal(info.name, expected);
  assert.equal(info.choice, 'auto');
  assert.deepEqual((await availableBackends()).slice(-2), ['wasm', 'cpu']);
});

test('auto falls back to wasm when the native addon is unavailable (RF_NO_NATIVE=1)', () => {
  const script =
    "import('./ml/backend/index.ts').then(async (m) => { const i = await m.initBackend('auto', { log: () => {} }); console.log(JSON.stringify(i)); })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: root,
    env: { ...process.env, RF_NO_NATIVE: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string };
  assert.equal(info.name, 'wasm');
});

test('the default thread count comes from RF_THREADS, and a bad value is named', () => {
  const script =
    "import('./ml/backend/index.ts').then(async (m) => { const i = await m.initBackend('auto', { log: () => {} }); console.log(JSON.stringify(i)); })";
  const run = (value: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, env: { ...process.env, RF_THREADS: value }, encoding: 'utf8' });
  const ok = run('1');
  assert.equal(ok.status, 0, ok.stderr);
  const info = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { threads: number };
  assert.equal(info.threads, 1);
  const bad = run('two');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /RF_THREADS must be a positive integer; got "two"/);
});

test('initBackend rejects a non-positive thread count', async () => {
  await assert.rejects(initBackend('cpu', { ...quiet, threads: 0 }), /threads must be a positive integer; got 0/);
});
