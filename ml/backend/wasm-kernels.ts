import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composedConvBackpropConfigs } from './composed-conv-backprop.ts';

/**
 * gather's gradient. Segment ids outside [0, numSegments) are dropped, as in TensorFlow.
 * Runs in JS on the wasm heap: it is a scatter-add, memory-bound, and rare in our models
 * (bilinear samplers), so a wasm build of it would not pay.
 */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const wasm = backend as BackendWasm;
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new Error(
      `UnsortedSegmentSum (wasm): segmentIds must be 1-D of length x.shape[0]; got ${JSON.stringify(segmentIds.shape)} for x ${JSON.stringify(x.shape)}`,
    );
  }
  const inner = x.shape.slice(1).reduce((p, d) => p * d, 1);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  const dst = wasm.typedArrayFromHeap(out);
  dst.fill(0);
  const src = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i] as number;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const b = i * inner;
    for (let j = 0; j < inner; j++) dst[o + j] = (dst[o + j] as number) + (src[b + j] as number);
  }
  return out;
};

/** Kernels the wasm backend lacks for training, or has only as slow reference loops. */
export function wasmKernelConfigs(): KernelConfig[] {
  return [...composedConvBackpropConfigs('wasm'), { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum }];
}

/** Idempotent: replaces any earlier registration of the same kernels. */
export function registerWasmKernels(): void {
  for (const config of wasmKernelConfigs()) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
}
