/**
 * The 'native' tfjs backend: tfjs' pure-JS cpu backend (same storage: one Float32Array per
 * tensor) with its hot kernels replaced by oneDNN and vectorised C++ through the addon. Every
 * kernel we do not replace, and every case a replacement does not cover (other dtypes, layouts,
 * broadcasts), runs the cpu backend's own kernel, so the backend is complete by construction.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.ts';
import { nativeKernelConfigs } from './kernels.ts';

export const NATIVE_BACKEND_NAME = 'native';

export class NativeBackend extends MathBackendCPU {
  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend prints an "install tfjs-node" banner on first use; not for us.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * The Float32Array behind a float32 tensor (no copy). The cpu kernels may leave a float32
   * tensor holding another typed array (a cast from bool shares the Uint8Array); that is
   * converted once and stored back.
   */
  f32(t: TensorInfo): Float32Array {
    const data = this.data.get(t.dataId);
    const values = data?.values;
    if (values instanceof Float32Array) return values;
    if (data !== undefined && t.dtype === 'float32' && ArrayBuffer.isView(values)) {
      const converted = Float32Array.from(values as unknown as ArrayLike<number>);
      data.values = converted;
      return converted;
    }
    throw new Error(`native backend: expected float32 data, got ${t.dtype} held as ${values?.constructor.name ?? String(values)}`);
  }

  /** A fresh float32 output tensor and its buffer. */
  output(shape: number[]): { info: TensorInfo; values: Float32Array } {
    const values = new Float32Array(shape.reduce((p, d) => p * d, 1));
    return { info: this.makeTensorInfo(shape, 'float32', values), values };
  }
}

/** The cpu backend's kernel, for the cases a native kernel hands back. */
export function cpuKernel(kernelName: string): KernelFunc {
  const config = tf.getKernel(kernelName, 'cpu');
  if (config === undefined) throw new Error(`cpu backend has no kernel '${kernelName}'`);
  return config.kernelFunc;
}

let registeredFor: NativeAddon | undefined;

/** Registers the backend and its kernels once per process (later calls are no-ops). */
export function registerNativeBackend(addon: NativeAddon): void {
  if (registeredFor !== undefined) return;
  registeredFor = addon;
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), 0);
  const ours = new Map<string, KernelConfig>(nativeKernelConfigs(NATIVE_BACKEND_NAME).map((k) => [k.kernelName, k]));
  for (const cpu of tf.getKernelsForBackend('cpu')) {
    if (!ours.has(cpu.kernelName)) tf.registerKernel({ ...cpu, backendName: NATIVE_BACKEND_NAME });
  }
  for (const k of ours.values()) tf.registerKernel(k);
}
