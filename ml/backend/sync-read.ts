/**
 * A backend whose tensors live in GPU memory (webgpu) cannot read them synchronously in Node:
 * tfjs-backend-webgpu's dataSync goes through a browser's OffscreenCanvas. Its asynchronous read
 * keeps the values on the CPU side of the tensor, after which dataSync returns them. Code that
 * reads tensors synchronously (model and checkpoint serialisation) awaits this first.
 */
import * as tf from '@tensorflow/tfjs';

/** Backends whose dataSync needs the values downloaded first. */
const GPU_MEMORY_BACKENDS = new Set(['webgpu']);

export function syncReadNeedsDownload(backend: string = tf.getBackend()): boolean {
  return GPU_MEMORY_BACKENDS.has(backend);
}

/**
 * Makes `dataSync()` of each tensor work on every backend (a no-op where it always does; on the
 * CPU backends a download would only copy).
 */
export async function prepareSyncRead(tensors: readonly tf.Tensor[]): Promise<void> {
  if (!syncReadNeedsDownload()) return;
  await Promise.all(tensors.map((t) => t.data()));
}
