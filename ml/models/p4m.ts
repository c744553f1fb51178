/**
 * p4m group convolutions (Cohen & Welling 2016) by filter expansion: every filter is expanded into its
 * 8 transformed copies and the result is one ordinary conv2d, so gradients come from tfjs autodiff.
 *
 * Group elements: s = 4m + r is "rotate by r quarter-turns counter-clockwise, then mirror if m"
 * (docs/method/models.md#g-resnet-p4m), acting on centred pixel coordinates (x right, y down): R(x, y) = (y, -x) is a
 * counter-clockwise quarter-turn as displayed, M(x, y) = (-x, y) a horizontal mirror, g_s = M^m R^r.
 *
 * Feature maps on p4m are NHWC tensors whose channel index is c * 8 + s (feature c, group element s),
 * which is how the reference port flattens [N, C, 8, H, W] into the classifier.
 *
 * With (L_u f)(x, h) = f(u^-1 x, u^-1 h), both layers satisfy conv(L_u f) = L_u conv(f):
 *   lifting  Z2 -> p4m:  out(x, o, g) = sum_{p,c}   in(x + p, c)    psi_oc(g^-1 p)
 *   group   p4m -> p4m:  out(x, o, g) = sum_{p,c,h} in(x + p, c, h) psi_oc(g^-1 p, g^-1 h)
 * exactly so for stride 1 on square maps with symmetric padding (the sampling grid is then closed
 * under the group); stride 2 on even-sized maps samples a grid that is not, which breaks exactness.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvLayer } from './layers.ts';
import { convolve } from './layers.ts';
import type { Constant, Param, ParamStore } from './params.ts';
import { hasP4MExpandKernel, runP4MExpand } from '../backend/p4m-expand.ts';

export const P4M_ORDER = 8;

let expansionCache = true;

/** Turns the reuse of expanded filters between batches off (benchmarks' reference); returns the previous setting. */
export function setP4MExpansionCache(on: boolean): boolean {
  const was = expansionCache;
  expansionCache = on;
  return was;
}

/** 2x2 integer matrix [a, b, c, d] acting on column vectors (x, y): (a x + b y, c x + d y). */
type Mat2 = readonly [number, number, number, number];

const ROT: Mat2 = [0, 1, -1, 0];
const MIRROR: Mat2 = [-1, 0, 0, 1];
const IDENTITY: Mat2 = [1, 0, 0, 1];

function mul(p: Mat2, q: Mat2): Mat2 {
  return [p[0] * q[0] + p[1] * q[2], p[0] * q[1] + p[1] * q[3], p[2] * q[0] + p[3] * q[2], p[2] * q[1] + p[3] * q[3]];
}

/** The matrix of group element s = 4m + r: M^m R^r. */
export function p4mMatrix(s: number): Mat2 {
  if (!Number.isInteger(s) || s < 0 || s >= P4M_ORDER) throw new Error(`p4m element out of range: ${s}`);
  let g = IDENTITY;
  for (let i = 0; i < s % 4; i++) g = mul(ROT, g);
  return s >= 4 ? mul(MIRROR, g) : g;
}

const MATRICES = Array.from({ length: P4M_ORDER }, (_, s) => p4mMatrix(s));

function indexOf(g: Mat2): number {
  const s = MATRICES.findIndex((h) => h.every((v, i) => v === g[i]));
  if (s < 0) throw new Error(`matrix [${g}] is not in p4m`);
  return s;
}

/** P4M_TABLE[a][b] = the element g_a g_b (apply g_b first). */
export const P4M_TABLE: readonly (readonly number[])[] = MATRICES.map((a) => MATRICES.map((b) => indexOf(mul(a, b))));
export const P4M_INVERSE: readonly number[] = MATRICES.map((_, a) => P4M_TABLE[a]!.indexOf(0));

/**
 * For a k x k kernel, the source position of every target position under (L_g K)(p) = K(g^-1 p):
 * result[i * k + j] = i' * k + j' with (j' - c, i' - c) = g^-1 (j - c, i - c), c = (k - 1) / 2.
 */
export function kernelPermutation(k: number, s: number): Int32Array {
  const inv = p4mMatrix(P4M_INVERSE[s]!);
  const c = (k - 1) / 2;
  const out = new Int32Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const x = j - c;
      const y = i - c;
      const xs = inv[0] * x + inv[1] * y + c;
      const ys = inv[2] * x + inv[3] * y + c;
      out[i * k + j] = ys * k + xs;
    }
  }
  return out;
}

/** Gather indices that expand a lifting kernel [k*k, Cin, Cout] into [8 (g), k*k, Cin, Cout]. */
export function liftingIndex(k: number): Int32Array {
  const kk = k * k;
  const idx = new Int32Array(P4M_ORDER * kk);
  for (let g = 0; g < P4M_ORDER; g++) idx.set(kernelPermutation(k, g), g * kk);
  return idx;
}

/**
 * Gather indices that expand a group kernel stored as [k*k*8 (position p, input element h), Cin, Cout]
 * into [8 (g), k*k*8, Cin, Cout]: entry (g, p, h) reads (g^-1 p, g^-1 h).
 */
export function groupIndex(k: number): Int32Array {
  const kk = k * k;
  const idx = new Int32Array(P4M_ORDER * kk * P4M_ORDER);
  for (let g = 0; g < P4M_ORDER; g++) {
    const perm = kernelPermutation(k, g);
    const ginv = P4M_INVERSE[g]!;
    for (let p = 0; p < kk; p++) {
      for (let h = 0; h < P4M_ORDER; h++) {
        idx[(g * kk + p) * P4M_ORDER + h] = perm[p]! * P4M_ORDER + P4M_TABLE[ginv]![h]!;
      }
    }
  }
  return idx;
}

/**
 * The filter expansion as one op: out[g * S + q] = w[index[g * S + q]], where each block g of `index`
 * is a permutation of 0..S-1. Its gradient gathers with the inverse permutations and sums the blocks.
 * (tfjs differentiates a plain gather through unsortedSegmentSum, which the cpu backend computes in
 * time proportional to S times the kernel size: far too slow for training.)
 */
function expansionOp(index: Int32Array, size: number): (w: tf.Tensor) => tf.Tensor {
  const copies = index.length / size;
  const inverse = new Int32Array(index.length);
  for (let g = 0; g < copies; g++) {
    const seen = new Uint8Array(size);
    for (let q = 0; q < size; q++) {
      const s = index[g * size + q]!;
      if (s < 0 || s >= size || seen[s]) throw new Error(`p4m expansion block ${g} is not a permutation`);
      seen[s] = 1;
      inverse[g * size + s] = g * size + q;
    }
  }
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const w = args[0] as tf.Tensor;
    const rest = w.shape.slice(1);
    return {
      value: tf.gather(w, tf.tensor1d(index, 'int32')),
      gradFunc: (dy: tf.Tensor) =>
        tf
          .gather(dy, tf.tensor1d(inverse, 'int32'))
          .reshape([copies, size, ...rest])
          .sum(0),
    };
  }) as (w: tf.Tensor) => tf.Tensor;
}

/**
 * A p4m convolution layer. `lift` maps an image (Cin channels) to p4m features (Cout * 8 channels);
 * otherwise p4m features (Cin * 8) to p4m features (Cout * 8). Weights: lift [k, k, Cin, Cout],
 * group [k, k, 8, Cin, Cout]; PyTorch-default init with the fan-in of the expanded filter.
 */
export class P4MConv implements ConvLayer {
  readonly weight: Param;
  private readonly expand: (w: tf.Tensor) => tf.Tensor;
  private readonly index: Int32Array;
  /** The index as a tensor for the loop kernel, made and disposed with the model's variables. */
  private readonly indexTensor: Constant<tf.Tensor1D>;
  /**
   * The last expansion outside any gradient tape, keyed by the identity of the weight's tensor
   * (tfjs gives a variable a new data id on every assign, so a changed weight never matches) and
   * the backend. Plain values, not a tensor: nothing stays in the tensor engine between batches.
   */
  private expanded: { readonly dataId: object; readonly backend: string; readonly values: Float32Array } | undefined;

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly lift: boolean,
    readonly stride = 1,
    readonly pad = 0,
  ) {
    const inGroup = lift ? 1 : P4M_ORDER;
    const bound = 1 / Math.sqrt(inChannels * inGroup * kernel * kernel);
    const shape = lift ? [kernel, kernel, inChannels, outChannels] : [kernel, kernel, P4M_ORDER, inChannels, outChannels];
    this.weight = store.add(`${name}.weight`, shape, { kind: 'uniform', bound });
    const positions = kernel * kernel * inGroup;
    this.index = lift ? liftingIndex(kernel) : groupIndex(kernel);
    this.expand = expansionOp(this.index, positions);
    const index = this.index;
    this.indexTensor = store.constant(() => tf.tensor1d(index, 'int32'));
  }

  /** The expanded HWIO kernel [k, k, Cin * inGroup, Cout * 8] used by the plain convolution. */
  expandedKernel(): tf.Tensor4D {
    const k = this.kernel;
    const cin = this.inChannels;
    const cout = this.outChannels;
    const inGroup = this.lift ? 1 : P4M_ORDER;
    if (hasP4MExpandKernel()) {
      // The weights do not change between the batches of an evaluation: outside a gradient tape
      // (where no weight gradient can be asked for) a repeated expansion is served from the cache.
      const untaped = expansionCache && tf.engine().state.gradientDepth === 0;
      const w = this.weight.v;
      const backend = tf.getBackend();
      const shape: [number, number, number, number] = [k, k, cin * inGroup, cout * P4M_ORDER];
      const hit = this.expanded;
      if (untaped && hit !== undefined && hit.dataId === w.dataId && hit.backend === backend) return tf.tensor4d(hit.values.slice(), shape);
      const index = this.indexTensor.t;
      const out = tf.tidy(() => runP4MExpand(w.reshape([k * k * inGroup, cin, cout]), index, k, inGroup));
      if (untaped) this.expanded = { dataId: w.dataId, backend, values: Float32Array.from(out.dataSync()) };
      return out;
    }
    return this.composedExpandedKernel();
  }

  /** expandedKernel from a gather and a transpose (any backend; the loop kernel's reference). */
  composedExpandedKernel(): tf.Tensor4D {
    const k = this.kernel;
    const cin = this.inChannels;
    const cout = this.outChannels;
    return tf.tidy(() => {
      if (this.lift) {
        const w = this.weight.v.reshape([k * k, cin, cout]);
        const g = this.expand(w).reshape([P4M_ORDER, k, k, cin, cout]);
        return g.transpose([1, 2, 3, 4, 0]).reshape([k, k, cin, cout * P4M_ORDER]) as tf.Tensor4D;
      }
      const w = this.weight.v.reshape([k * k * P4M_ORDER, cin, cout]);
      const g = this.expand(w).reshape([P4M_ORDER, k, k, P4M_ORDER, cin, cout]);
      // [g, ky, kx, h, c, o] -> [ky, kx, c, h, o, g]: input channel c*8+h, output o*8+g.
      return g.transpose([1, 2, 4, 3, 5, 0]).reshape([k, k, cin * P4M_ORDER, cout * P4M_ORDER]) as tf.Tensor4D;
    });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const expected = this.inChannels * (this.lift ? 1 : P4M_ORDER);
    if (x.shape[3] !== expected) throw new Error(`${this.name}: expected ${expected} input channels, got ${x.shape[3]}`);
    return convolve(x, this.expandedKernel(), this.stride, this.pad, 'zeros');
  }
}
