import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/**
 * Runs registered kernels of one backend from inside another kernel, and frees every
 * intermediate through that backend.
 *
 * Why not high-level ops: a kernel must return a TensorInfo owned by its backend; calling tf ops
 * inside a kernel creates engine-tracked tensors whose disposal races with the engine's own
 * bookkeeping (this corrupted the wasm backend's data storage in an early try). Calling kernel
 * functions directly keeps every buffer under the backend's reference counts.
 */
export class KernelComposer {
  private readonly temporaries: TensorInfo[] = [];

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs `kernelName` on this backend; the result is freed by `finish` unless it is kept. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new Error(`kernel '${kernelName}' is not registered for backend '${this.backendName}'`);
    }
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      throw new Error(`kernel '${kernelName}' returned several outputs; KernelComposer.run expects one`);
    }
    this.temporaries.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * Pads (positive amounts) or crops (negative amounts) each axis; `amounts[i] = [before, after]`.
   * Zero amounts on every axis return the input itself.
   */
  padOrCrop(x: TensorInfo, amounts: Array<[number, number]>): TensorInfo {
    let t = x;
    if (amounts.some(([b, a]) => b > 0 || a > 0)) {
      const paddings = amounts.map(([b, a]) => [Math.max(0, b), Math.max(0, a)]);
      t = this.run('PadV2', { x: t }, { paddings, constantValue: 0 });
    }
    if (amounts.some(([b, a]) => b < 0 || a < 0)) {
      const begin = amounts.map(([b]) => Math.max(0, -b));
      const size = amounts.map(([b, a], i) => (t.shape[i] ?? 0) - Math.max(0, -b) - Math.max(0, -a));
      if (size.some((s) => s <= 0)) throw new Error(`padOrCrop: crop ${JSON.stringify(amounts)} empties shape ${JSON.stringify(x.shape)}`);
      t = this.run('Slice', { x: t }, { begin, size });
    }
    return t;
  }

  /** Frees every intermediate except `result`, which the caller returns from its kernel. */
  finish(result: TensorInfo): TensorInfo {
    let kept = false;
    for (const t of this.temporaries) {
      if (t === result) {
        kept = true;
        continue;
      }
      this.backend.disposeData(t.dataId);
    }
    this.temporaries.length = 0;
    if (!kept) throw new Error('KernelComposer.finish: the result was not produced by this composer');
    return result;
  }
}
