/**
 * The `std` and `std*` training augmentations (docs/method/training.md#augmentations), applied on the fly to each
 * batch. Per image, in this order:
 *   1. random crop from the image zero-padded by `maxShift` px = an integer translation (tx, ty),
 *      each uniform in [-maxShift, maxShift] (+tx moves content right, +ty down), black fill;
 *   2. horizontal flip with probability `flipProbability`;
 *   3. colour jitter: brightness, contrast and saturation factors each uniform in [1 - b, 1 + b],
 *      applied in a random order as torchvision's ColorJitter does (see color-jitter.ts);
 *   4. rotation uniform in [-maxRotationDeg, maxRotationDeg] about the image centre, bilinear,
 *      black fill, through ml/transform/rigid.ts (the same warp the spatial attacks use).
 * Every draw comes from a generator derived from (seed, step, position in batch), so a batch's
 * augmentation is a pure function of those, and the draws are returned for inspection.
 */
import { Rng } from '../random.ts';
import { applyWarp, planWarp, rotationCosSin, warpImage3 } from '../transform/rigid.ts';
import { loadNativeAddon } from '../backend/native/addon.ts';
import { JITTER_OPS, applyJitter, type JitterOp } from './color-jitter.ts';

export interface AugmentSpec {
  readonly name: string;
  /** Zero padding of the random crop = largest translation in pixels. */
  readonly maxShift: number;
  readonly flipProbability: number;
  /** Jitter strengths b: factors uniform in [max(0, 1 - b), 1 + b]. */
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly maxRotationDeg: number;
}

export const STD: AugmentSpec = { name: 'std', maxShift: 4, flipProbability: 0.5, brightness: 0.25, contrast: 0.25, saturation: 0.25, maxRotationDeg: 2 };
export const STD_STAR: AugmentSpec = { ...STD, name: 'std*', maxShift: 3, maxRotationDeg: 30 };

export type AugmentName = 'none' | 'std' | 'std*';

/** The spec for a profile's augmentation name; null for 'none'. */
export function augmentSpec(name: AugmentName): AugmentSpec | null {
  if (name === 'none') return null;
  if (name === 'std') return STD;
  if (name === 'std*') return STD_STAR;
  throw new Error(`unknown augmentation "${String(name)}" (known: none, std, std*)`);
}

/** What was drawn for one image. */
export interface AugmentDraw {
  readonly tx: number;
  readonly ty: number;
  readonly flip: boolean;
  readonly jitterOrder: readonly JitterOp[];
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly angleDeg: number;
}

export const IDENTITY_DRAW: AugmentDraw = { tx: 0, ty: 0, flip: false, jitterOrder: JITTER_OPS, brightness: 1, contrast: 1, saturation: 1, angleDeg: 0 };

function factor(rng: Rng, strength: number): number {
  return strength > 0 ? rng.uniform(Math.max(0, 1 - strength), 1 + strength) : 1;
}

export function drawAugment(spec: AugmentSpec, rng: Rng): AugmentDraw {
  const s = spec.maxShift;
  const tx = s > 0 ? rng.int(2 * s + 1) - s : 0;
  const ty = s > 0 ? rng.int(2 * s + 1) - s : 0;
  const flip = rng.bernoulli(spec.flipProbability);
  const jitterOrder = [...JITTER_OPS];
  rng.shuffle(jitterOrder);
  const brightness = factor(rng, spec.brightness);
  const contrast = factor(rng, spec.contrast);
  const saturation = factor(rng, spec.saturation);
  const angleDeg = spec.maxRotationDeg > 0 ? rng.uniform(-spec.maxRotationDeg, spec.maxRotationDeg) : 0;
  return { tx, ty, flip, jitterOrder, brightness, contrast, saturation, angleDeg };
}

export interface ImageDims {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** out(y, x) = src(y - ty, x - tx), black outside; then mirrored when `flip`. */
function shiftAndFlip(src: Float32Array, out: Float32Array, d: ImageDims, tx: number, ty: number, flip: boolean): void {
  const { height: H, width: W, channels: C } = d;
  // Output column x shows shifted column ox = (flip ? W-1-x : x), i.e. source column ox - tx: the
  // source columns inside the image form one run of output columns [lo, hi), copied whole rows at a time.
  const lo = flip ? Math.max(0, -tx) : Math.max(0, tx);
  const hi = flip ? Math.min(W, W - tx) : Math.min(W, W + tx);
  for (let y = 0; y < H; y++) {
    const sy = y - ty;
    const row = y * W * C;
    if (sy < 0 || sy >= H || lo >= hi) {
      out.fill(0, row, row + W * C);
      continue;
    }
    out.fill(0, row, row + lo * C);
    out.fill(0, row + hi * C, row + W * C);
    const srcRow = sy * W * C;
    if (!flip) {
      out.set(src.subarray(srcRow + (lo - tx) * C, srcRow + (hi - tx) * C), row + lo * C);
      continue;
    }
    for (let x = lo; x < hi; x++) {
      const i = srcRow + (W - 1 - x - tx) * C;
      const o = row + x * C;
      for (let c = 0; c < C; c++) out[o + c] = src[i + c]!;
    }
  }
}

/** The image between the crop and the rotation; reused, since an augmentation runs per image. */
let scratch = new Float32Array(0);

/** Applies one draw to one HWC image; returns a new array (or fills `out`). */
export function applyAugment(src: Float32Array, d: ImageDims, draw: AugmentDraw, out?: Float32Array): Float32Array {
  const size = d.height * d.width * d.channels;
  if (src.length !== size) throw new Error(`applyAugment: ${src.length} values for a ${d.height}x${d.width}x${d.channels} image`);
  if (!Number.isInteger(draw.tx) || !Number.isInteger(draw.ty))
    throw new Error(`applyAugment: crop translation must be whole pixels, got (${draw.tx}, ${draw.ty})`);
  const result = out ?? new Float32Array(size);
  // Without a rotation the crop and jitter can work in the result itself.
  if (draw.angleDeg !== 0 && scratch.length < size) scratch = new Float32Array(size);
  const img = draw.angleDeg === 0 ? result : scratch.subarray(0, size);
  shiftAndFlip(src, img, d, draw.tx, draw.ty, draw.flip);
  for (const op of draw.jitterOrder) {
    const f = draw[op];
    if (f !== 1) applyJitter(img, d.channels, op, f);
  }
  if (draw.angleDeg !== 0) {
    const rotation = { angleDeg: draw.angleDeg, tx: 0, ty: 0 };
    if (d.channels === 3) warpImage3(rotation, d.height, d.width, img, result);
    else applyWarp(planWarp(d.height, d.width, rotation), img, result, d.channels);
  }
  return result;
}

/** The generator for image `index` of the batch at `step`. */
export function augmentRng(seed: number, step: number, index: number): Rng {
  return Rng.derive(seed, `augment/${step}/${index}`);
}

/**
 * Augments a batch (NHWC, `n` images) in place of a copy: image i uses augmentRng(seed, step, i).
 * Returns the new images and the draws. Where the native addon is built the images are computed
 * by its kernel (native/src/augment.cc), the same bits as applyAugment's
 * (test/augment-standard.test.ts); `options.js` (or RF_NO_NATIVE=1) keeps them in TypeScript.
 */
export function augmentBatch(
  x: Float32Array,
  shape: ImageDims & { readonly n: number },
  spec: AugmentSpec,
  seed: number,
  step: number,
  options: { readonly js?: boolean } = {},
): { x: Float32Array; draws: AugmentDraw[] } {
  const size = shape.height * shape.width * shape.channels;
  if (x.length !== shape.n * size) throw new Error(`augmentBatch: ${x.length} values for ${shape.n} images of ${size}`);
  const out = new Float32Array(x.length);
  const draws: AugmentDraw[] = [];
  for (let i = 0; i < shape.n; i++) draws.push(drawAugment(spec, augmentRng(seed, step, i)));
  const native = options.js ? undefined : loadNativeAddon();
  if (native?.augmentImages) {
    native.augmentImages(x, out, shape.n, shape.height, shape.width, shape.channels, packDraws(draws));
    return { x: out, draws };
  }
  draws.forEach((draw, i) => applyAugment(x.subarray(i * size, (i + 1) * size), shape, draw, out.subarray(i * size, (i + 1) * size)));
  return { x: out, draws };
}

const JITTER_CODE: Record<JitterOp, number> = { brightness: 0, contrast: 1, saturation: 2 };

/** The draws as the native kernel reads them, 12 numbers per image (native/src/augment.cc). */
function packDraws(draws: readonly AugmentDraw[]): Float64Array {
  const packed = new Float64Array(draws.length * 12);
  draws.forEach((d, i) => {
    if (!Number.isInteger(d.tx) || !Number.isInteger(d.ty)) throw new Error(`augmentBatch: crop translation must be whole pixels, got (${d.tx}, ${d.ty})`);
    const [cos, sin] = rotationCosSin(d.angleDeg);
    const ops = d.jitterOrder.flatMap((op) => [JITTER_CODE[op], d[op]]);
    packed.set([d.tx, d.ty, d.flip ? 1 : 0, ...ops, d.angleDeg !== 0 ? 1 : 0, cos, sin], i * 12);
  });
  return packed;
}
