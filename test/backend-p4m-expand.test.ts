// The p4m filter-expansion loop kernel against the gather + transpose it replaces (itself checked
// against a direct G-correlation and finite differences in models-gconv.test.ts): the expanded
// kernel and the gradient of a weighted sum of it, lifting and p4m->p4m, 3x3 and 1x1.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { hasP4MExpandKernel, registerP4MExpand } from '../ml/backend/p4m-expand.ts';
import { P4MConv } from '../ml/models/p4m.ts';
import { ParamStore } from '../ml/models/params.ts';
import { assertClose, randomArray, testLoopKernelOnBackends } from './backend-compare.ts';

const CASES = [
  [true, 3],
  [false, 3],
  [false, 1],
] as const;

/** The expanded kernel and d/dweight of sum(r * kernel) by both routes, as copies. */
function bothRoutes(lift: boolean, k: number): { loop: Float32Array[]; composed: Float32Array[] } {
  const store = new ParamStore();
  const layer = new P4MConv(store, 'g', 3, 2, k, lift, 1, (k - 1) / 2);
  store.materialise({ seed: 3 });
  const run = (expand: () => tf.Tensor4D): Float32Array[] => {
    const outs = tf.tidy(() => {
      const kernel = expand();
      const r = tf.tensor(randomArray(9, kernel.shape), kernel.shape);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(r, expand())), [layer.weight.v as tf.Variable]);
      return [kernel, Object.values(grads)[0]!];
    });
    const copies = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
    return copies;
  };
  const loop = run(() => layer.expandedKernel());
  const composed = run(() => layer.composedExpandedKernel());
  store.dispose();
  return { loop, composed };
}

async function compareOn(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend));
  assert.ok(hasP4MExpandKernel(), `no p4m expansion kernel on ${backend}`);
  for (const [lift, k] of CASES) {
    const before = tf.memory().numTensors;
    const { loop, composed } = bothRoutes(lift, k);
    const what = `${backend} ${lift ? 'lifting' : 'p4m->p4m'} ${k}x${k}`;
    assertClose(loop[0]!, composed[0]!, 0, `${what} expanded kernel`);
    assertClose(loop[1]!, composed[1]!, 1e-6, `${what} weight gradient`);
    assert.ok(
      loop[1]!.some((v) => v !== 0),
      `${what}: zero gradient`,
    );
    // The layer keeps one index tensor for the kernel; nothing else may stay behind.
    assert.ok(tf.memory().numTensors <= before + 1, `${what}: tensors leaked`);
  }
}

testLoopKernelOnBackends('p4m expansion kernel equals gather + transpose (kernel and weight gradient)', registerP4MExpand, compareOn);
