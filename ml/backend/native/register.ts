/**
 * Puts the 'native' backend (backend.ts) and its kernels (kernels.ts) into tfjs. Apart from the
 * backend class, which the kernels use, so that neither of those two imports the other.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.ts';
import { guardSharing, NATIVE_BACKEND_NAME, NativeBackend } from './backend.ts';
import { nativeKernelConfigs } from './kernels.ts';

let registeredFor: NativeAddon | undefined;

/** Registers the backend and its kernels once per process (later calls are no-ops). */
export function registerNativeBackend(addon: NativeAddon): void {
  if (registeredFor !== undefined) return;
  registeredFor = addon;
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), 0);
  const ours = new Map<string, KernelConfig>(nativeKernelConfigs(NATIVE_BACKEND_NAME).map((k) => [k.kernelName, k]));
  for (const cpu of tf.getKernelsForBackend('cpu')) {
    if (!ours.has(cpu.kernelName) && tf.getKernel(cpu.kernelName, NATIVE_BACKEND_NAME) === undefined)
      tf.registerKernel({ ...cpu, backendName: NATIVE_BACKEND_NAME, kernelFunc: guardSharing(cpu.kernelFunc) });
  }
  for (const k of ours.values()) {
    // The project's loop kernels may have claimed native first (ml/backend/loop-io.ts): ours win.
    if (tf.getKernel(k.kernelName, NATIVE_BACKEND_NAME) !== undefined) tf.unregisterKernel(k.kernelName, NATIVE_BACKEND_NAME);
    tf.registerKernel(k);
  }
}
