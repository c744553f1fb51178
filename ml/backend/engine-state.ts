/**
 * The tensor engine's state as a worker that runs many nodes compares it before and after each:
 * live tensors, data buffers and variables beyond what a cache deliberately keeps, and the active
 * backend. A difference means the node leaked, and its process must not run another node.
 */
import * as tf from '@tensorflow/tfjs';
import { NativeBackend } from './native/backend.ts';

/** What a cache holds on purpose (left out of the comparison). */
export interface Kept {
  readonly tensors: number;
  readonly dataBuffers: number;
  readonly variables: number;
}

export function tensorEngineState(kept: Kept): Record<string, unknown> {
  const m = tf.memory();
  return {
    backend: tf.getBackend(),
    tensors: m.numTensors - kept.tensors,
    dataBuffers: m.numDataBuffers - kept.dataBuffers,
    variables: Object.keys(tf.engine().registeredVariables).length - kept.variables,
  };
}

/**
 * Drops what the backend recycles between tensors (the native backend's buffer pool), so a node
 * meets the allocator a fresh process would.
 */
export function resetBackendCaches(): void {
  const name = tf.getBackend();
  const b = name ? tf.engine().findBackend(name) : null;
  if (b instanceof NativeBackend) b.releasePool();
}
