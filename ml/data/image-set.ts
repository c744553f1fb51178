/**
 * The in-memory view of any labelled image dataset (CIFAR-10, D_R, D_NR, the synthetic set, a
 * test subset). Every training, attack and evaluation routine reads data through this interface,
 * so where the bytes come from (a memory-backed artifact file, a generated set) stays private to
 * the data module.
 *
 * Images are NHWC; `gather` always yields floats in [0, 1] whatever the storage type.
 */
export interface ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Label of example i (class index, 0 <= label < numClasses). */
  readonly labels: Uint8Array;
  /** Copies examples `indices` into `out` (allocated when absent), NHWC floats in [0, 1]. */
  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array;
}

/** Number of float values in one image of `set`. */
export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}
