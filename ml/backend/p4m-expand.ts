/**
 * The p4m filter expansion (ml/models/p4m.ts) as one loop kernel: every row of the stored kernel
 * [P * H, Cin, Cout] (P = k*k positions, H = input group elements: 1 when lifting, 8 otherwise) is
 * copied, for each of the 8 output elements g, to where the permutation `index` sends it, directly in
 * the layout the convolution reads, [k, k, Cin * H, Cout * 8]. As tfjs ops this is a gather and a
 * 6-D transpose that the cpu kernels run element by element: a third of a G-ResNet forward pass on
 * 2 cores, spent on weights that do not change between batches.
 *
 * Registered for cpu and native; other backends use the gather and transpose.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocF32, readF32, registerLoopKernels } from './loop-io.ts';

export const P4M_EXPAND_KERNEL = 'RfP4MExpand';
export const P4M_EXPAND_GRAD_KERNEL = 'RfP4MExpandGrad';

const G = 8;

interface ExpandAttrs {
  readonly k: number;
  /** Input group elements per position: 1 (lifting) or 8. */
  readonly inGroup: number;
  readonly cin: number;
  readonly cout: number;
}

/**
 * Calls visit(source offset, target offset) for every (g, row q, input channel c) run of Cout
 * values: source w[index[g*S + q], c, :], target out[p, c, h, :, g] (stride 8), q = p * H + h.
 */
function forEachRun(attrs: ExpandAttrs, index: Int32Array, visit: (src: number, dst: number) => void): void {
  const { k, inGroup, cin, cout } = attrs;
  const rows = k * k * inGroup;
  for (let g = 0; g < G; g++) {
    for (let q = 0; q < rows; q++) {
      const srcRow = index[g * rows + q]!;
      const p = Math.floor(q / inGroup);
      const h = q % inGroup;
      for (let c = 0; c < cin; c++) visit((srcRow * cin + c) * cout, ((p * cin + c) * inGroup + h) * cout * G + g);
    }
  }
}

function attrsOf(args: Parameters<KernelFunc>[0]): ExpandAttrs {
  const a = args.attrs as unknown as ExpandAttrs;
  return { k: a.k, inGroup: a.inGroup, cin: a.cin, cout: a.cout };
}

const outShape = ({ k, inGroup, cin, cout }: ExpandAttrs): number[] => [k, k, cin * inGroup, cout * G];

const expandKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { w, index } = args.inputs as { w: TensorInfo; index: TensorInfo };
  const attrs = attrsOf(args);
  const src = readF32(backend, w, P4M_EXPAND_KERNEL, 'w');
  const idx = backend.readSync(index.dataId) as Int32Array;
  const { info, values: out } = allocF32(backend, outShape(attrs), false);
  const cout = attrs.cout;
  forEachRun(attrs, idx, (s, d) => {
    for (let o = 0; o < cout; o++) out[d + o * G] = src[s + o]!;
  });
  return info;
};

const expandGradKernel: KernelFunc = (args) => {
  const backend = args.backend as KernelBackend;
  const { dy, index } = args.inputs as { dy: TensorInfo; index: TensorInfo };
  const attrs = attrsOf(args);
  const g = readF32(backend, dy, P4M_EXPAND_GRAD_KERNEL, 'dy');
  const idx = backend.readSync(index.dataId) as Int32Array;
  const { info, values: dw } = allocF32(backend, [attrs.k * attrs.k * attrs.inGroup, attrs.cin, attrs.cout], true);
  const cout = attrs.cout;
  forEachRun(attrs, idx, (s, d) => {
    for (let o = 0; o < cout; o++) dw[s + o] = dw[s + o]! + g[d + o * G]!;
  });
  return info;
};

const expandGrad: GradConfig = {
  kernelName: P4M_EXPAND_KERNEL,
  inputsToSave: ['index'],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [index] = saved as [Tensor];
    return {
      w: () => tf.engine().runKernel(P4M_EXPAND_GRAD_KERNEL, { dy, index }, attrs) as Tensor,
      index: () => tf.zerosLike(index),
    };
  },
};

/** True when the current backend expands p4m filters with the loop kernel. */
export function hasP4MExpandKernel(): boolean {
  return tf.getKernel(P4M_EXPAND_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * w [k*k*inGroup, Cin, Cout] and the expansion's row permutations `index` [8 * k*k*inGroup] (int32)
 * -> [k, k, Cin * inGroup, Cout * 8]; differentiable in w.
 */
export function runP4MExpand(w: tf.Tensor, index: tf.Tensor1D, k: number, inGroup: number): tf.Tensor4D {
  const [rows, cin, cout] = w.shape as [number, number, number];
  if (w.rank !== 3 || rows !== k * k * inGroup || index.size !== G * rows) {
    throw new Error(`${P4M_EXPAND_KERNEL}: kernel [${w.shape}] and index of ${index.size} do not fit k=${k}, inGroup=${inGroup}`);
  }
  const attrs: NamedAttrMap = { k, inGroup, cin, cout };
  return tf.engine().runKernel(P4M_EXPAND_KERNEL, { w, index }, attrs) as tf.Tensor4D;
}

let registered = false;

/** Idempotent: the kernels for the loop backends, and the op's gradient. */
export function registerP4MExpand(): void {
  if (registered) return;
  registered = true;
  registerLoopKernels(
    [
      [P4M_EXPAND_KERNEL, expandKernel],
      [P4M_EXPAND_GRAD_KERNEL, expandGradKernel],
    ],
    expandGrad,
  );
}
