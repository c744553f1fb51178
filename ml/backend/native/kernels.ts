import * as tf from '@tensorflow/tfjs';
import type {
  BatchMatMulAttrs,
  ClipByValueAttrs,
  Conv2DAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  FusedConv2DAttrs,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  SoftmaxAttrs,
  StepAttrs,
  TensorInfo,
  _FusedMatMulAttrs,
} from '@tensorflow/tfjs';
import { cpuKernel, guardSharing, type NativeBackend } from './backend.ts';
import { BN_TRAIN_GRAD_KERNEL, BN_TRAIN_KERNEL } from '../batch-norm.ts';
import { RELU_GRAD_KERNEL } from '../relu-grad.ts';
import { groupBnKernelConfigs } from './group-bn-kernels.ts';
import { sgdKernelConfig } from './sgd-kernel.ts';
import { bnReluKernelConfigs } from './bn-relu-kernels.ts';
import { resampleKernelConfigs } from './resample-kernels.ts';
import { BN_EVAL_RELU_KERNEL } from '../batch-norm-eval.ts';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

function geometry(c: Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
    c.padInfo.bottom,
    c.padInfo.right,
  ];
}

const CONV_PASS = { forward: 0, backwardData: 1, backwardWeights: 2 } as const;

/** Calls handed to the cpu kernel, by kernel name and input shapes (for profiling). */
export const nativeFallbacks = new Map<string, number>();

/** A native kernel that hands the call to the cpu kernel when it returns undefined. */
function withFallback(kernelName: string, native: (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined): KernelFunc {
  const cpu = guardSharing(cpuKernel(kernelName));
  return (args) => {
    const out = native(args, args.backend as NativeBackend);
    if (out !== undefined) return out;
    const key = `${kernelName} ${Object.values(args.inputs)
      .map((t) => `${t?.dtype}[${t?.shape.join(',')}]`)
      .join(' ')}`;
    nativeFallbacks.set(key, (nativeFallbacks.get(key) ?? 0) + 1);
    return cpu(args);
  };
}

const allFloat = (...ts: Array<TensorInfo | undefined>) => ts.every((t) => t === undefined || t.dtype === 'float32');

function conv2D(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as Conv2DAttrs;
  if (a.dataFormat === 'NCHW' || !allFloat(x, filter)) return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const out = b.output(c.outShape);
  b.addon.conv2d(CONV_PASS.forward, geometry(c), b.f32(x), b.f32(filter), out.values);
  return out.info;
}

function conv2DBackpropInput(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
  if (a.dataFormat === 'NCHW' || !allFloat(dy, filter)) return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    [...a.inputShape] as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const out = b.output(c.inShape);
  b.addon.conv2d(CONV_PASS.backwardData, geometry(c), b.f32(dy), b.f32(filter), out.values);
  return out.info;
}

function conv2DBackpropFilter(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const a = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (a.dataFormat === 'NCHW' || !allFloat(x, dy)) return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    [...a.filterShape] as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const out = b.output(c.filterShape);
  b.addon.conv2d(CONV_PASS.backwardWeights, geometry(c), b.f32(x), b.f32(dy), out.values);
  return out.info;
}

const BINARY_OP = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6, Pow: 7 } as const;
type BinaryKernel = keyof typeof BINARY_OP;
const RELU_GRAD_OP = 8;

/** relu's gradient in one pass: dy where x > 0, else 0 (tfjs composes Step and Multiply). */
const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as NativeBackend;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  if (size(dy.shape) !== size(x.shape)) throw new Error(`${RELU_GRAD_KERNEL}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} differ`);
  const o = b.output([...x.shape]);
  b.addon.binary(RELU_GRAD_OP, b.f32(dy), 0, 1, b.f32(x), 0, 1, o.values, 1, size(x.shape));
  return o.info;
};

/** Strides (per row, per column) that read `shape` broadcast to out = rows x cols split at axis k. */
function broadcastStrides(shape: readonly number[], out: readonly number[], k: number): [number, number] | undefined {
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  const head = padded.slice(0, k);
  const tail = padded.slice(k);
  const headFull = head.every((d, i) => d === out[i]);
  const headOnes = head.every((d) => d === 1);
  const tailFull = tail.every((d, i) => d === out[k + i]);
  const tailOnes = tail.every((d) => d === 1);
  if (!(headFull || headOnes) || !(tailFull || tailOnes)) return undefined;
  const cols = size(out.slice(k));
  const colStride = tailFull ? 1 : 0;
  const rowStride = headOnes && !headFull ? 0 : tailFull ? cols : 1;
  return [rowStride, colStride];
}

/**
 * A binary op where each operand is, after collapsing the output to rows x cols at some axis,
 * full, a row vector, a column vector or a scalar. Covers same-shape, per-channel ([C] against
 * [N,H,W,C]), per-example ([N,1,1,1]) and scalar operands.
 */
function binary(kernelName: BinaryKernel): (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined {
  return (args, b) => {
    const { a, b: bb } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!allFloat(a, bb)) return undefined;
    const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, bb.shape);
    // k = 0 first: same-shape and scalar operands as one flat loop.
    const splits = [0, ...Array.from({ length: out.length }, (_, i) => out.length - i)];
    for (const k of splits) {
      const sa = broadcastStrides(a.shape, out, k);
      const sb = broadcastStrides(bb.shape, out, k);
      if (sa === undefined || sb === undefined) continue;
      const rows = size(out.slice(0, k));
      const cols = size(out.slice(k));
      const o = b.output(out);
      b.addon.binary(BINARY_OP[kernelName], b.f32(a), sa[0], sa[1], b.f32(bb), sb[0], sb[1], o.values, rows, cols);
      return o.info;
    }
    return undefined;
  };
}

const UNARY_OP = { Relu: 0, Step: 1, Neg: 2, Exp: 3, Log: 4, Sqrt: 5, Rsqrt: 6, Square: 7, Reciprocal: 8, Abs: 9, Sign: 10 } as const;
type UnaryKernel = keyof typeof UNARY_OP;

function unary(kernelName: UnaryKernel): (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined {
  return (args, b) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!allFloat(x)) return undefined;
    if (kernelName === 'Step' && (args.attrs as unknown as StepAttrs).alpha !== 0) return undefined;
    const o = b.output([...x.shape]);
    b.addon.unary(UNARY_OP[kernelName], b.f32(x), o.values);
    return o.info;
  };
}

/**
 * Clipping (native) and softmax (a loop on the tensors' arrays): the cpu kernels allocate and dispatch
 * per element (clipping a batch of 256 CIFAR images took 13 ms, 70 times a relu of the same size).
 * Both run on every STN/PTN forward pass (the input clip; the PTN's heat-map softmax); every model
 * clips its input. The clip was a TypeScript loop until it showed as 11-18 % of STN/PTN evaluations.
 */
function clipByValue(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { x } = args.inputs as { x: TensorInfo };
  if (!allFloat(x)) return undefined;
  const { clipValueMin: lo, clipValueMax: hi } = args.attrs as unknown as ClipByValueAttrs;
  const o = b.output([...x.shape]);
  // t > hi ? hi : t < lo ? lo : t; NaN passes through, as in the cpu kernel (native/src/resample.cc).
  b.addon.clip(b.f32(x), lo, hi, o.values);
  return o.info;
}

/** Softmax over the last axis (the only one tfjs' softmax takes), max-shifted for stability. */
function softmax(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { logits } = args.inputs as { logits: TensorInfo };
  const { dim } = args.attrs as unknown as SoftmaxAttrs;
  const rank = logits.shape.length;
  if (!allFloat(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
  const cols = logits.shape[rank - 1]!;
  const src = b.f32(logits);
  const o = b.output([...logits.shape]);
  const v = o.values;
  for (let r = 0; r < src.length; r += cols) {
    let max = -Infinity;
    for (let j = r; j < r + cols; j++) if (src[j]! > max) max = src[j]!;
    let sum = 0;
    for (let j = r; j < r + cols; j++) {
      const e = Math.exp(src[j]! - max);
      v[j] = e;
      sum += e;
    }
    for (let j = r; j < r + cols; j++) v[j] = v[j]! / sum;
  }
  return o.info;
}

const REDUCE_OP = { Sum: 0, Mean: 1, Max: 2, Min: 3 } as const;
type ReduceKernel = keyof typeof REDUCE_OP;

/** Reductions over a leading run of axes (per-channel statistics) or a trailing run (per example). */
function reduce(kernelName: ReduceKernel): (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined {
  return (args, b) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!allFloat(x) || x.shape.length === 0) return undefined;
    const attrs = args.attrs as NamedAttrMap;
    const axisAttr = (kernelName === 'Max' ? attrs.reductionIndices : attrs.axis) as number | number[];
    const keepDims = attrs.keepDims === true;
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axisAttr, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return undefined;
    const leading = axes.every((ax, i) => ax === i);
    const trailing = axes.every((ax, i) => ax === rank - axes.length + i);
    if (!leading && !trailing) return undefined;
    const k = leading ? axes.length : rank - axes.length;
    const rows = size(x.shape.slice(0, k));
    const cols = size(x.shape.slice(k));
    if (rows === 0 || cols === 0) return undefined;
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const o = b.output(outShape);
    b.addon.reduce(REDUCE_OP[kernelName], b.f32(x), rows, cols, leading ? 1 : 0, o.values);
    return o.info;
  };
}

/** Batched row-major matmul; batch dims must match or one side must have batch 1. */
function batchMatMul(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { a, b: bb } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  if (!allFloat(a, bb) || a.shape.length < 2 || bb.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = bb.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? bb.shape[rb - 1]! : bb.shape[rb - 2]!;
  const n = transposeB ? bb.shape[rb - 2]! : bb.shape[rb - 1]!;
  if (k !== kb) return undefined;
  const batchA = a.shape.slice(0, -2);
  const batchB = bb.shape.slice(0, -2);
  const sizeA = size(batchA);
  const sizeB = size(batchB);
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  const batch = size(batchShape);
  if (!(sizeA === 1 || sizeA === batch) || !(sizeB === 1 || sizeB === batch)) return undefined;
  const o = b.output([...batchShape, m, n]);
  if (m * n * batch === 0) return o.info;
  b.addon.sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, b.f32(a), b.f32(bb), o.values, batch, sizeA === 1 ? 0 : m * k, sizeB === 1 ? 0 : k * n);
  return o.info;
}

/** bias add and relu/linear on a native result, or undefined to let the cpu kernel redo it all. */
function biasAndActivation(b: NativeBackend, y: TensorInfo, bias: TensorInfo | undefined, activation: string): TensorInfo | undefined {
  let t = y;
  if (bias !== undefined) {
    const added = binary('Add')({ inputs: { a: t, b: bias }, attrs: {}, backend: b }, b);
    b.disposeData(t.dataId);
    if (added === undefined) return undefined;
    t = added;
  }
  if (activation === 'relu') {
    const r = unary('Relu')({ inputs: { x: t }, attrs: {}, backend: b }, b);
    b.disposeData(t.dataId);
    t = r!;
  }
  return t;
}

function fusedConv2D(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as FusedConv2DAttrs;
  if ((a.activation !== 'linear' && a.activation !== 'relu') || preluActivationWeights !== undefined || !allFloat(bias)) return undefined;
  const y = conv2D({ inputs: { x: x!, filter: filter! }, attrs: args.attrs, backend: b }, b);
  return y === undefined ? undefined : biasAndActivation(b, y, bias, a.activation);
}

function fusedMatMul(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const { a, b: bb, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as _FusedMatMulAttrs;
  if ((attrs.activation !== 'linear' && attrs.activation !== 'relu') || preluActivationWeights !== undefined || !allFloat(bias)) return undefined;
  const y = batchMatMul({ inputs: { a: a!, b: bb! }, attrs: args.attrs, backend: b }, b);
  return y === undefined ? undefined : biasAndActivation(b, y, bias, attrs.activation);
}

/** [rows, channels] view of a channels-last tensor. */
function rowsByChannels(x: TensorInfo): [number, number] {
  const c = x.shape[x.shape.length - 1] ?? 1;
  return [size(x.shape) / c, c];
}

const bnTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
  const [rows, c] = rowsByChannels(x);
  const y = b.output([...x.shape]);
  const mean = b.output([c]);
  const variance = b.output([c]);
  b.addon.bnTrain(
    b.f32(x),
    rows,
    c,
    b.f32(scale),
    b.f32(offset),
    (attrs as { varianceEpsilon: number }).varianceEpsilon,
    y.values,
    mean.values,
    variance.values,
  );
  return [y.info, mean.info, variance.info];
};

const bnTrainGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const { dy, x, scale, mean, variance } = inputs as Record<'dy' | 'x' | 'scale' | 'mean' | 'variance', TensorInfo>;
  const [rows, c] = rowsByChannels(x);
  const dx = b.output([...x.shape]);
  const dscale = b.output([c]);
  const doffset = b.output([c]);
  b.addon.bnTrainGrad(
    b.f32(dy),
    b.f32(x),
    rows,
    c,
    b.f32(scale),
    b.f32(mean),
    b.f32(variance),
    (attrs as { varianceEpsilon: number }).varianceEpsilon,
    dx.values,
    dscale.values,
    doffset.values,
  );
  return [dx.info, dscale.info, doffset.info];
};

/** Inference batch norm as y = k1[c] x + k3[c] over x viewed as [rows, c]. */
export interface InferenceAffine {
  readonly rows: number;
  readonly c: number;
  readonly k1: Float32Array;
  readonly k3: Float32Array;
}

/**
 * tf.batchNorm's inputs (per-channel or scalar statistics) as k1 = scale / sqrt(var + eps) and
 * k3 = offset - mean k1, or undefined where they are not float32 per-channel vectors. Shared by
 * FusedBatchNorm and the fused eval BN + ReLU (bnEvalRelu below), so both compute the same bits.
 */
export function inferenceAffine(b: NativeBackend, inputs: Record<string, TensorInfo | undefined>, eps: number): InferenceAffine | undefined {
  const { x, mean, variance, offset, scale } = inputs;
  if (x === undefined || mean === undefined || variance === undefined || !allFloat(x, mean, variance, offset, scale)) return undefined;
  const [rows, c] = rowsByChannels(x);
  const perChannel = (t: TensorInfo | undefined) => t === undefined || size(t.shape) === 1 || (t.shape.length === 1 && t.shape[0] === c);
  if (![mean, variance, offset, scale].every(perChannel)) return undefined;
  const at = (t: TensorInfo | undefined, fallback: number) => {
    if (t === undefined) return () => fallback;
    const v = b.f32(t);
    return v.length === 1 ? () => v[0]! : (i: number) => v[i]!;
  };
  const [m, v, o, s] = [at(mean, 0), at(variance, 1), at(offset, 0), at(scale, 1)];
  const k1 = new Float32Array(c);
  const k3 = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const g = s(i) / Math.sqrt(v(i) + eps);
    k1[i] = g;
    k3[i] = o(i) - m(i) * g;
  }
  return { rows, c, k1, k3 };
}

/** Inference batch norm (tf.batchNorm) with per-channel or scalar statistics: y = k1[c] x + k3[c]. */
function fusedBatchNorm(args: Parameters<KernelFunc>[0], b: NativeBackend): TensorInfo | undefined {
  const inputs = args.inputs as Record<string, TensorInfo | undefined>;
  const affine = inferenceAffine(b, inputs, (args.attrs as { varianceEpsilon: number }).varianceEpsilon);
  if (affine === undefined) return undefined;
  const x = inputs.x!;
  const out = b.output([...x.shape]);
  b.addon.channelAffine(b.f32(x), affine.rows, affine.c, affine.k1, affine.k3, out.values);
  return out.info;
}

/**
 * Eval-mode batch norm, residual add and ReLU in one pass (../batch-norm-eval.ts): the same k1, k3
 * as FusedBatchNorm, then native/src/bn_eval.cc's loop, which does the three kernels' float
 * operations in their order.
 */
const bnEvalRelu: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as NativeBackend;
  const ins = inputs as Record<string, TensorInfo | undefined>;
  const affine = inferenceAffine(b, ins, (attrs as { varianceEpsilon: number }).varianceEpsilon);
  const { x, skip } = ins;
  if (affine === undefined || (skip !== undefined && (skip.dtype !== 'float32' || skip.shape.join() !== x!.shape.join()))) {
    throw new Error(`${BN_EVAL_RELU_KERNEL}: needs float32 x, per-channel statistics and a skip of x's shape`);
  }
  const out = b.output([...x!.shape]);
  b.addon.bnEvalRelu(b.f32(x!), affine.rows, affine.c, affine.k1, affine.k3, skip === undefined ? new Float32Array(0) : b.f32(skip), out.values);
  return out.info;
};

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Pool geometry, or undefined where tfjs' cpu kernels would disagree with a plain window rule:
 * average pooling with padding (tfjs' forward divides by the clipped window, its gradient by the
 * full one), so only padding-free average pools are native.
 */
function poolGeometry(x: TensorInfo, attrs: PoolAttrs, isMax: boolean): number[] | undefined {
  if (x.shape.length !== 4 || x.dtype !== 'float32') return undefined;
  const p = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, left, bottom, right } = p.padInfo;
  if (!isMax && top + left + bottom + right > 0) return undefined;
  return [p.batchSize, p.inHeight, p.inWidth, p.inChannels, p.outHeight, p.outWidth, p.filterHeight, p.filterWidth, p.strideHeight, p.strideWidth, top, left];
}

function pool(isMax: boolean): (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined {
  return (args, b) => {
    const { x } = args.inputs as { x: TensorInfo };
    const g = poolGeometry(x, args.attrs as unknown as PoolAttrs, isMax);
    if (g === undefined) return undefined;
    const out = b.output([g[0]!, g[4]!, g[5]!, g[3]!]);
    b.addon.pool(isMax ? 1 : 0, g, b.f32(x), out.values);
    return out.info;
  };
}

function poolGrad(isMax: boolean): (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined {
  return (args, b) => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const g = poolGeometry(input, args.attrs as unknown as PoolAttrs, isMax);
    if (g === undefined || dy.dtype !== 'float32') return undefined;
    const dx = b.output([...input.shape]);
    b.addon.poolGrad(isMax ? 1 : 0, g, b.f32(dy), b.f32(input), dx.values);
    return dx.info;
  };
}

export function nativeKernelConfigs(backendName: string): KernelConfig[] {
  const configs: Array<[string, (args: Parameters<KernelFunc>[0], b: NativeBackend) => TensorInfo | undefined]> = [
    ['Conv2D', conv2D],
    ['Conv2DBackpropInput', conv2DBackpropInput],
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['FusedConv2D', fusedConv2D],
    ['BatchMatMul', batchMatMul],
    ['_FusedMatMul', fusedMatMul],
    ['FusedBatchNorm', fusedBatchNorm],
    ['AvgPool', pool(false)],
    ['AvgPoolGrad', poolGrad(false)],
    ['MaxPool', pool(true)],
    ['MaxPoolGrad', poolGrad(true)],
    ['ClipByValue', clipByValue],
    ['Softmax', softmax],
    ...(Object.keys(BINARY_OP) as BinaryKernel[]).map((k): [string, ReturnType<typeof binary>] => [k, binary(k)]),
    ...(Object.keys(UNARY_OP) as UnaryKernel[]).map((k): [string, ReturnType<typeof unary>] => [k, unary(k)]),
    ...(Object.keys(REDUCE_OP) as ReduceKernel[]).map((k): [string, ReturnType<typeof reduce>] => [k, reduce(k)]),
  ];
  return [
    ...configs.map(([kernelName, fn]) => ({ kernelName, backendName, kernelFunc: withFallback(kernelName, fn) })),
    { kernelName: BN_TRAIN_KERNEL, backendName, kernelFunc: bnTrain },
    { kernelName: BN_TRAIN_GRAD_KERNEL, backendName, kernelFunc: bnTrainGrad },
    { kernelName: RELU_GRAD_KERNEL, backendName, kernelFunc: reluGrad },
    ...groupBnKernelConfigs(backendName),
    sgdKernelConfig(backendName),
    ...bnReluKernelConfigs(backendName),
    ...resampleKernelConfigs(backendName),
    { kernelName: BN_EVAL_RELU_KERNEL, backendName, kernelFunc: bnEvalRelu },
  ];
}
