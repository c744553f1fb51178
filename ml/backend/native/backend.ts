/**
 * The 'native' tfjs backend: tfjs' pure-JS cpu backend (same storage: one Float32Array per
 * tensor) with its hot kernels replaced by oneDNN and vectorised C++ through the addon. Every
 * kernel we do not replace, and every case a replacement does not cover (other dtypes, layouts,
 * broadcasts), runs the cpu backend's own kernel, so the backend is complete by construction.
 * The kernels (kernels.ts) build on this class; register.ts puts both into tfjs.
 */
import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.ts';

export const NATIVE_BACKEND_NAME = 'native';

/** Arrays shorter than this are not recycled (allocation is cheap for them). */
const POOL_MIN_LENGTH = 1 << 14;
/**
 * Cap on recycled memory held while unused: $RF_NATIVE_POOL_MB, default half the RAM. What the
 * pool holds is what the previous step freed, so it stays within one step's working set (the
 * process's peak does not grow); a cap below that working set made a ResNet-50 batch-128 step
 * 3.4x slower (fresh 100 MB buffers cost page faults and zeroing on every allocation).
 */
const POOL_MAX_BYTES = process.env.RF_NATIVE_POOL_MB !== undefined ? Number(process.env.RF_NATIVE_POOL_MB) * 2 ** 20 : totalmem() / 2;

type BackendValues = ReturnType<MathBackendCPU['readSync']>;

export class NativeBackend extends MathBackendCPU {
  /**
   * Output buffers of freed tensors, by length, for reuse: a fresh large Float32Array costs
   * page faults and zeroing comparable to the memory-bound kernel that fills it.
   */
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  /** Buffers allocated by output() and held by exactly one data id: the only ones recycled. */
  private readonly owned = new WeakSet<Float32Array>();

  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend prints an "install tfjs-node" banner on first use; not for us.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Marks a buffer as shared with another data id (a cpu kernel reused it): never recycle it. */
  disown(values: unknown): void {
    if (values instanceof Float32Array) this.owned.delete(values);
  }

  isOwned(values: unknown): boolean {
    return values instanceof Float32Array && this.owned.has(values);
  }

  override disposeData(dataId: object, force = false): boolean {
    const data = this.data.get(dataId);
    const values = data?.values;
    const released = super.disposeData(dataId, force);
    if (released && data !== undefined && values instanceof Float32Array && this.owned.has(values) && values.length >= POOL_MIN_LENGTH) {
      this.owned.delete(values);
      if (this.pooledBytes + values.byteLength <= POOL_MAX_BYTES) {
        const list = this.pool.get(values.length) ?? [];
        list.push(values);
        this.pool.set(values.length, list);
        this.pooledBytes += values.byteLength;
      }
    }
    return released;
  }

  /** Reads return copies of recycled buffers, so a caller's dataSync() array outlives the tensor. */
  override readSync(dataId: object): BackendValues {
    const values = super.readSync(dataId);
    return values instanceof Float32Array && this.owned.has(values) ? values.slice() : values;
  }

  override async read(dataId: object): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  /** Forgets every recycled buffer (the next allocations are fresh, as in a new process). */
  releasePool(): void {
    this.pool.clear();
    this.pooledBytes = 0;
  }

  override dispose(): void {
    this.releasePool();
    super.dispose();
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

  /** A float32 output tensor and its buffer; contents are arbitrary (kernels overwrite all). */
  output(shape: number[]): { info: TensorInfo; values: Float32Array } {
    const length = shape.reduce((p, d) => p * d, 1);
    let values = length >= POOL_MIN_LENGTH ? this.pool.get(length)?.pop() : undefined;
    if (values !== undefined) this.pooledBytes -= values.byteLength;
    else values = new Float32Array(length);
    this.owned.add(values);
    return { info: this.makeTensorInfo(shape, 'float32', values), values };
  }
}

/** The cpu backend's kernel, for the cases a native kernel hands back. */
export function cpuKernel(kernelName: string): KernelFunc {
  const config = tf.getKernel(kernelName, 'cpu');
  if (config === undefined) throw new Error(`cpu backend has no kernel '${kernelName}'`);
  return config.kernelFunc;
}

/**
 * Wraps a cpu kernel so that an output holding the same array as an input, or a view into it (some
 * cpu kernels reuse input storage under a new data id; Slice returns subarrays), takes that array
 * out of recycling.
 */
export function guardSharing(kernel: KernelFunc): KernelFunc {
  return (args) => {
    const out = kernel(args);
    const b = args.backend as NativeBackend;
    const inputs = Object.values(args.inputs).filter((t): t is TensorInfo => t !== undefined);
    for (const o of Array.isArray(out) ? out : [out]) {
      const values = b.data.get(o.dataId)?.values;
      if (!ArrayBuffer.isView(values)) continue;
      for (const t of inputs) {
        const held = b.data.get(t.dataId)?.values;
        // The same array (Reshape) or a view into it (a contiguous Slice returns a subarray): the
        // input's array must outlive its tensor, so it is never recycled.
        if (t.dataId !== o.dataId && b.isOwned(held) && (held as Float32Array).buffer === values.buffer) b.disown(held);
      }
    }
    return out;
  };
}
