import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The compiled addon's interface (native/src/addon.cc, native/src/elementwise.cc). */
export interface NativeAddon {
  version(): string;
  dnnlVersion(): string;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** pass 0 forward, 1 backward data, 2 backward weights; geometry: n h w ci oh ow co fh fw sh sw dh dw pt pl pb pr. */
  conv2d(pass: number, geometry: number[], a: Float32Array, b: Float32Array, out: Float32Array): void;
  conv2dImpl(pass: number, geometry: number[]): string;
  sgemm(
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    strideA: number,
    strideB: number,
  ): void;
  binary(
    op: number,
    a: Float32Array,
    aRowStride: number,
    aColStride: number,
    b: Float32Array,
    bRowStride: number,
    bColStride: number,
    out: Float32Array,
    rows: number,
    cols: number,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  reduce(op: number, x: Float32Array, rows: number, cols: number, alongRows: number, out: Float32Array): void;
  bnTrain(
    x: Float32Array,
    rows: number,
    channels: number,
    scale: Float32Array,
    offset: Float32Array,
    eps: number,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  bnTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    rows: number,
    channels: number,
    scale: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    eps: number,
    dx: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  /** geometry: n h w c oh ow fh fw sh sw pt pl */
  pool(isMax: number, geometry: number[], x: Float32Array, out: Float32Array): void;
  poolGrad(isMax: number, geometry: number[], dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  channelAffine(x: Float32Array, rows: number, channels: number, k1: Float32Array, k3: Float32Array, out: Float32Array): void;
  /** native/src/group_bn.cc: the group batch norm's fused passes (ml/backend/group-batch-norm.ts). */
  gbnCentre(x: Float32Array, rows: number, cols: number, groups: number, centred: Float32Array, sqSum: Float32Array, mean: Float32Array): void;
  gbnAffine(centred: Float32Array, s: Float32Array, b: Float32Array, rows: number, cols: number, relu: number, y: Float32Array): void;
  gbnAffineGrad(
    dy: Float32Array,
    centred: Float32Array,
    s: Float32Array,
    mask: Float32Array,
    rows: number,
    cols: number,
    dCentred: Float32Array,
    dS: Float32Array,
    dB: Float32Array,
  ): void;
  gbnCentreGrad(dCentred: Float32Array, centred: Float32Array, dSq: Float32Array, rows: number, cols: number, groups: number, dx: Float32Array): void;
  /** native/src/sgd.cc: one SGD step of one variable (ml/backend/sgd-update.ts). */
  sgdUpdate(w: Float32Array, g: Float32Array, v: Float32Array, lr: number, momentum: number, weightDecay: number, wOut: Float32Array, vOut: Float32Array): void;
  /** native/src/bn_relu.cc: bnTrain then ReLU, and the gradient of both (ml/backend/batch-norm-relu.ts). */
  bnTrainRelu(
    x: Float32Array,
    rows: number,
    channels: number,
    scale: Float32Array,
    offset: Float32Array,
    eps: number,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  bnTrainReluGrad(
    dy: Float32Array,
    y: Float32Array,
    x: Float32Array,
    rows: number,
    channels: number,
    scale: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    eps: number,
    dx: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  /** out = relu(a + b) (ml/backend/add-relu.ts). */
  addRelu(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** native/src/resample.cc: xs, ys hold n * per points; out n * per * c values. */
  bilinearSample(image: Float32Array, n: number, h: number, w: number, c: number, xs: Float32Array, ys: Float32Array, out: Float32Array): void;
  clip(x: Float32Array, lo: number, hi: number, out: Float32Array): void;
  clipNormalize(x: Float32Array, lo: number, hi: number, mean: Float32Array, std: Float32Array, out: Float32Array): void;
  wrapRows(x: Float32Array, n: number, h: number, rowLength: number, pad: number, out: Float32Array): void;
  wrapRowsGrad(dy: Float32Array, n: number, h: number, rowLength: number, pad: number, dx: Float32Array): void;
  bilinearSampleGradPoints(
    image: Float32Array,
    n: number,
    h: number,
    w: number,
    c: number,
    xs: Float32Array,
    ys: Float32Array,
    dy: Float32Array,
    dxs: Float32Array,
    dys: Float32Array,
  ): void;
  bilinearSampleGradImage(n: number, h: number, w: number, c: number, xs: Float32Array, ys: Float32Array, dy: Float32Array, dImage: Float32Array): void;
  /** native/src/bn_eval.cc: out = relu(k1[c] x + k3[c] (+ skip)); an empty skip means none. */
  bnEvalRelu(x: Float32Array, rows: number, channels: number, k1: Float32Array, k3: Float32Array, skip: Float32Array, out: Float32Array): void;
  /** ml/transform/rigid.ts' applyWarp (native/src/augment.cc); absent from builds before it. */
  warpRigid?(
    src: Int32Array,
    weight: Float32Array,
    input: Float32Array,
    output: Float32Array,
    pixels: number,
    channels: number,
    first: number,
    count: number,
  ): void;
  /** ml/augment/standard.ts' augmentBatch, given its draws packed 12 numbers per image; absent from builds before it. */
  augmentImages?(x: Float32Array, out: Float32Array, n: number, h: number, w: number, c: number, draws: Float64Array): void;
}

/**
 * What the addon is built from, relative to the project root: its C++ sources and headers and the
 * build script (compiler flags). Code that loads the addon computes with these, though no import
 * reaches them, so the project adds them to the code digest of every stage that can load it.
 */
export function nativeSourceFiles(): string[] {
  const dir = fileURLToPath(new URL('../../../native/src/', import.meta.url));
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.(cc|h)$/.test(f))
        .sort()
    : [];
  return [...files.map((f) => `native/src/${f}`), 'native/build.mjs'];
}

/** The module through which every use of the addon goes (a stage whose code includes it runs native kernels). */
export const NATIVE_ADDON_MODULE = 'ml/backend/native/addon.ts';

export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../../native/build/robustfeat_native.node', import.meta.url));

let cached: NativeAddon | null | undefined;
let loadError: string | undefined;

/**
 * The addon if it was built (`npm run build:native`) and loads; undefined otherwise. A build
 * that exists but fails to load (e.g. libdnnl missing at run time) is reported by
 * nativeBuildHint() rather than thrown, so `auto` falls back to wasm.
 */
export function loadNativeAddon(): NativeAddon | undefined {
  if (cached !== undefined) return cached ?? undefined;
  if (process.env.RF_NO_NATIVE === '1') {
    loadError = 'disabled by RF_NO_NATIVE=1';
    cached = null;
    return undefined;
  }
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `${NATIVE_ADDON_PATH} does not exist`;
    cached = null;
    return undefined;
  }
  try {
    cached = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (err) {
    loadError = `${NATIVE_ADDON_PATH} failed to load: ${(err as Error).message}`;
    cached = null;
  }
  return cached ?? undefined;
}

export function nativeBuildHint(): string {
  return `${loadError ?? 'not loaded'}. Build it with \`npm run build:native\` ` + '(needs g++ and oneDNN: `apt-get install -y libdnnl-dev` on Debian/Ubuntu)';
}

/**
 * The instruction set of the kernels oneDNN runs here (read from the implementation it picks for
 * a 3x3 convolution, e.g. "avx512_core" or "avx2"; ONEDNN_MAX_CPU_ISA caps it for a process), so
 * that every execution's backend line says which kernels computed it. Undefined without the addon.
 */
let isa: string | undefined | null = null;
export function nativeKernelIsa(): string | undefined {
  if (isa === null) {
    const addon = loadNativeAddon();
    const impl = addon?.conv2dImpl(0, [8, 16, 16, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]);
    isa = impl === undefined ? undefined : (/(avx512[a-z0-9_]*|avx2|avx|sse41)/.exec(impl)?.[1] ?? impl);
  }
  return isa;
}
