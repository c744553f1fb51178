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
import { applyWarp, planWarp } from '../transform/rigid.ts';
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
  for (let y = 0; y < H; y++) {
    const sy = y - ty;
    for (let x = 0; x < W; x++) {
      const ox = flip ? W - 1 - x : x; // flip after the shift: output column x shows shifted column W-1-x
      const sx = ox - tx;
      const o = (y * W + x) * C;
      if (sy < 0 || sy >= H || sx < 0 || sx >= W) {
        for (let c = 0; c < C; c++) out[o + c] = 0;
      } else {
        const i = (sy * W + sx) * C;
        for (let c = 0; c < C; c++) out[o + c] = src[i + c]!;
      }
    }
  }
}

/** Applies one draw to one HWC image; returns a new array (or fills `out`). */
export function applyAugment(src: Float32Array, d: ImageDims, draw: AugmentDraw, out?: Float32Array): Float32Array {
  const size = d.height * d.width * d.channels;
  if (src.length !== size) throw new Error(`applyAugment: ${src.length} values for a ${d.height}x${d.width}x${d.channels} image`);
  if (!Number.isInteger(draw.tx) || !Number.isInteger(draw.ty))
    throw new Error(`applyAugment: crop translation must be whole pixels, got (${draw.tx}, ${draw.ty})`);
  const img = new Float32Array(size);
  shiftAndFlip(src, img, d, draw.tx, draw.ty, draw.flip);
  for (const op of draw.jitterOrder) {
    const f = draw[op];
    if (f !== 1) applyJitter(img, d.channels, op, f);
  }
  const result = out ?? new Float32Array(size);
  if (draw.angleDeg === 0) {
    result.set(img);
  } else {
    applyWarp(planWarp(d.height, d.width, { angleDeg: draw.angleDeg, tx: 0, ty: 0 }), img, result, d.channels);
  }
  return result;
}

/** The generator for image `index` of the batch at `step`. */
export function augmentRng(seed: number, step: number, index: number): Rng {
  return Rng.derive(seed, `augment/${step}/${index}`);
}

/**
 * Augments a batch (NHWC, `n` images) in place of a copy: image i uses augmentRng(seed, step, i).
 * Returns the new images and the draws.
 */
export function augmentBatch(
  x: Float32Array,
  shape: ImageDims & { readonly n: number },
  spec: AugmentSpec,
  seed: number,
  step: number,
): { x: Float32Array; draws: AugmentDraw[] } {
  const size = shape.height * shape.width * shape.channels;
  if (x.length !== shape.n * size) throw new Error(`augmentBatch: ${x.length} values for ${shape.n} images of ${size}`);
  const out = new Float32Array(x.length);
  const draws: AugmentDraw[] = [];
  for (let i = 0; i < shape.n; i++) {
    const draw = drawAugment(spec, augmentRng(seed, step, i));
    draws.push(draw);
    applyAugment(x.subarray(i * size, (i + 1) * size), shape, draw, out.subarray(i * size, (i + 1) * size));
  }
  return { x: out, draws };
}
