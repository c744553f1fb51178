import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { autoAttackBatch } from '../ml/attacks/autoattack.ts';
import { ATTACK_PRESETS, describeAttack, parseAttackConfig, type AttackConfig } from '../ml/attacks/config.ts';
import { evaluateAttack } from '../ml/attacks/evaluate.ts';
import { Rng } from '../ml/random.ts';
import { FunctionClassifier, TinyMlp, sliceSet, templateData, trainClassifier, useCpu } from './attacks-helpers.ts';

before(useCpu);

const SIZE = 8,
  C = 3,
  K = 10;

test('AutoAttack per image is never better than any of its components alone, and credits the first that broke it', async () => {
  const data = templateData(81, 316, { size: SIZE, channels: C, classes: K, amp: 0.25, noise: 0.2 });
  const [train, set] = [sliceSet(data, 0, 256), sliceSet(data, 256, 316)];
  const model = new TinyMlp(K, SIZE * SIZE * C, 82);
  trainClassifier(model, train, { steps: 150, batchSize: 32, lr: 0.01, seed: 83 });
  const eps = 0.5;
  const budget = { norm: 'l2' as const, eps };
  const components: AttackConfig[] = [
    { kind: 'apgd', ...budget, iterations: 10, restarts: 1, loss: 'ce', targets: 9 },
    { kind: 'apgd', ...budget, iterations: 10, restarts: 1, loss: 'dlr-targeted', targets: 2 },
    { kind: 'square', ...budget, queries: 40, pInit: 0.8 },
    // FAB-T alone: AutoAttack with that one component.
    {
      kind: 'autoattack',
      ...budget,
      components: ['fab-t'],
      apgdIterations: 10,
      apgdRestarts: 1,
      targets: 2,
      fabIterations: 10,
      squareQueries: 40,
      squarePInit: 0.8,
    },
  ];
  const aa: AttackConfig = {
    kind: 'autoattack',
    ...budget,
    components: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
    apgdIterations: 10,
    apgdRestarts: 1,
    targets: 2,
    fabIterations: 10,
    squareQueries: 40,
    squarePInit: 0.8,
  };
  const opts = { batchSize: 17, seed: 4 };
  const all = await evaluateAttack(model, set, aa, opts);
  assert.ok(all.naturalCorrect > 30, `the model learned the task (${all.naturalCorrect} of 60)`);
  assert.ok(all.robustCorrect < all.naturalCorrect, 'the attack broke something');
  let someComponentAlone = 0;
  for (const c of components) {
    const alone = await evaluateAttack(model, set, c, opts);
    for (let i = 0; i < 60; i++) {
      assert.ok(all.robustCorrectMask[i]! <= alone.robustCorrectMask[i]!, `${describeAttack(c)} alone breaks image ${i}, AutoAttack does not`);
    }
    someComponentAlone += alone.fooled;
  }
  assert.ok(someComponentAlone > 0);
  const credited = Object.values(all.brokenBy ?? {}).reduce((t, v) => t + v, 0);
  assert.equal(credited, all.fooled, `components credited ${JSON.stringify(all.brokenBy)} for ${all.fooled} broken images`);
  model.dispose();
});

test('AutoAttack: same seed, same bits; the zero-gradient model falls to Square, not APGD', () => {
  const rng = new Rng(91);
  const d = SIZE * SIZE * C;
  const w = tf.tensor2d(rng.fillNormal(new Float32Array(d * K)), [d, K]);
  const masked = new FunctionClassifier(K, (x) => tf.div(tf.floor(tf.mul(tf.matMul(tf.reshape(x, [x.shape[0], d]), w), 1000)), 1000) as tf.Tensor2D);
  const wv = w.dataSync();
  // Images whose minimal L-inf flip (closed form on the linear model under the staircase) is
  // between eps / 1.8 and eps / 1.15: breakable, but too far for APGD's random start alone.
  const eps = 0.02;
  const pool = new Rng(92).fillUniform(new Float32Array(80 * d), 0.3, 0.7);
  const zp = tf.tidy(() => masked.logits(tf.tensor4d(pool, [80, SIZE, SIZE, C]), 'eval').arraySync() as number[][]);
  const chosen: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 80 && chosen.length < 6; i++) {
    const yi = zp[i]!.indexOf(Math.max(...zp[i]!));
    let flip = Infinity;
    for (let j = 0; j < K; j++) {
      if (j === yi) continue;
      let m = 0;
      let l1 = 0;
      for (let p = 0; p < d; p++) {
        const dw = wv[p * K + yi]! - wv[p * K + j]!;
        m += dw * pool[i * d + p]!;
        l1 += Math.abs(dw);
      }
      flip = Math.min(flip, m / l1);
    }
    if (eps / flip > 1.15 && eps / flip < 1.8) {
      chosen.push(i);
      labels.push(yi);
    }
  }
  const n = chosen.length;
  assert.ok(n >= 4, `test setup: ${n} images at a suitable distance`);
  const x = tf.tensor4d(Float32Array.from(chosen.flatMap((i) => Array.from(pool.subarray(i * d, (i + 1) * d)))), [n, SIZE, SIZE, C]);
  const y = tf.tensor1d(labels, 'int32');
  const o = {
    norm: 'linf' as const,
    eps,
    components: ['apgd-ce', 'apgd-t', 'square'] as const,
    apgdIterations: 10,
    apgdRestarts: 1,
    targets: 3,
    fabIterations: 10,
    squareQueries: 300,
    squarePInit: 0.3,
    seed: 5,
    ids: chosen,
  };
  const a = autoAttackBatch(masked, x, y, o);
  const b = autoAttackBatch(masked, x, y, o);
  assert.deepEqual(a.adversarial.dataSync(), b.adversarial.dataSync());
  assert.deepEqual(a.brokenBy, b.brokenBy);
  assert.ok(
    a.brokenBy.every((c) => c === 'square'),
    `every image broken by Square: ${a.brokenBy.join(', ')}`,
  );
  tf.dispose([a.adversarial, b.adversarial, x, y, w]);
});

test('presets parse, and describe their budgets', () => {
  for (const name of ['aa-l2-0.25', 'aa-l2-0.5', 'aa-linf-8', 'aa-l2-0.5-lite'] as const) {
    const a = parseAttackConfig(ATTACK_PRESETS[name]);
    assert.equal(a.kind, 'autoattack');
  }
  assert.equal(
    describeAttack(ATTACK_PRESETS['aa-l2-0.5']),
    'L2-AutoAttack eps=0.5 (APGD-CE 100 it. x1, APGD-T 100 it. x9 targets, FAB-T 100 it. x9 targets, Square 5000 queries)',
  );
  assert.equal(describeAttack(ATTACK_PRESETS['aa-l2-0.5-lite']), 'L2-AutoAttack eps=0.5 (APGD-CE 25 it. x1, APGD-T 25 it. x3 targets, Square 300 queries)');
  // The standard set, in the standard order, when a parameter file names no components.
  assert.deepEqual(parseAttackConfig({ kind: 'autoattack', norm: 'l2', eps: 0.5 }), ATTACK_PRESETS['aa-l2-0.5']);
  assert.throws(() => parseAttackConfig({ kind: 'autoattack', norm: 'l2', eps: 0.5, components: ['fab'] }), /components/);
});
