/**
 * Registration of, and storage access for, our loop kernels on the backends whose tensors are
 * JavaScript arrays (cpu, native). On native, `readSync` returns a copy (callers may keep it past
 * the tensor's life) and a fresh output array costs page faults and zeroing; a kernel that only reads its input within the
 * call can use the array itself, and its output can come from the backend's recycling pool. For a
 * PTN-ResNet-18 forward pass those two copies per circular padding cost more than the padding.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/** Backends whose tensors are JavaScript arrays, where the loop kernels run. */
export const LOOP_BACKENDS = ['cpu', 'native'] as const;

/** What cpu and native both offer: a tensor made from values (KernelBackend does not declare it). */
type LoopBackend = KernelBackend & {
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
};

/** The native backend's extras (duck-typed so this file does not load the addon). */
interface PoolingBackend {
  f32(t: TensorInfo): Float32Array;
  output(shape: number[]): { info: TensorInfo; values: Float32Array };
}

function pooling(backend: KernelBackend): PoolingBackend | undefined {
  const b = backend as Partial<PoolingBackend>;
  return typeof b.f32 === 'function' && typeof b.output === 'function' ? (b as PoolingBackend) : undefined;
}

/**
 * The float32 values of `t`, to be read during this kernel call only (never written, never kept):
 * on native the tensor's own array.
 */
export function readF32(backend: KernelBackend, t: TensorInfo, kernel: string, name: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  const p = pooling(backend);
  return p !== undefined ? p.f32(t) : (backend.readSync(t.dataId) as Float32Array);
}

/**
 * A float32 output tensor of `shape` and its array. `zeroed`: the kernel accumulates into it, so
 * it must start at zero (a recycled array holds old values); otherwise the kernel writes every
 * element.
 */
export function allocF32(backend: KernelBackend, shape: number[], zeroed: boolean): { info: TensorInfo; values: Float32Array } {
  const p = pooling(backend);
  if (p !== undefined) {
    const out = p.output(shape);
    if (zeroed) out.values.fill(0);
    return out;
  }
  const values = new Float32Array(shape.reduce((a, d) => a * d, 1));
  return { info: (backend as LoopBackend).makeTensorInfo(shape, 'float32', values), values };
}

/**
 * Registers `kernels` on every loop backend where none is registered yet (the native backend
 * copies the cpu kernels when it registers, possibly before this runs), and the op's gradient
 * (absent for kernels that are never differentiated).
 */
export function registerLoopKernels(kernels: ReadonlyArray<readonly [string, KernelFunc]>, gradient: GradConfig | undefined): void {
  for (const backendName of LOOP_BACKENDS) {
    for (const [kernelName, kernelFunc] of kernels) {
      if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
  if (gradient !== undefined) tf.registerGradient(gradient);
}
