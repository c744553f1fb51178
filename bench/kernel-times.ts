/**
 * What the profiling benches (engine-profile, eval-profile, model-profile) print of a tf.profile:
 * kernel time summed per group (kernel name, or name and input shapes), largest first, and the
 * native kernels that handed their work to the cpu backend.
 */
import type * as tf from '@tensorflow/tfjs';
import { nativeFallbacks } from '../ml/backend/native/kernels.ts';

type ProfiledKernel = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];

export interface KernelTimes {
  /** Kernel milliseconds over all calls. */
  readonly total: number;
  readonly calls: number;
  readonly groups: ReadonlyMap<string, { ms: number; n: number }>;
}

export const byName = (k: ProfiledKernel): string => k.name;
export const byNameAndShapes = (k: ProfiledKernel): string => `${k.name} ${k.inputShapes.map((s) => `[${(s ?? []).join(',')}]`).join(' ')}`;

export function kernelTimes(kernels: readonly ProfiledKernel[], keyOf: (k: ProfiledKernel) => string = byName): KernelTimes {
  const groups = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = groups.get(keyOf(k)) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    groups.set(keyOf(k), e);
    total += ms;
  }
  return { total, calls: kernels.length, groups };
}

/** The `top` largest groups: milliseconds, share of the total, calls, name. */
export function printKernelTimes(t: KernelTimes, top: number): void {
  for (const [name, e] of [...t.groups.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    console.log(`  ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / t.total).toFixed(1).padStart(5)} % ${String(e.n).padStart(5)} calls  ${name}`);
  }
}

export function printNativeFallbacks(): void {
  if (nativeFallbacks.size === 0) return;
  console.log('native kernels handed to cpu:');
  for (const [k, n] of [...nativeFallbacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${n} x ${k}`);
}
