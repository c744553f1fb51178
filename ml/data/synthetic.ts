/**
 * The synthetic planted-feature dataset (docs/synthetic-world.md): the demo profile's offline default, whose
 * ground truth of "which feature predicts the label" is known exactly.
 *
 * Every class k owns two patterns:
 * - a ROBUST feature: three large Gaussian colour blobs (σ 3.5-6 px, peak ±`robustStrength`), a
 *   low-frequency, high-contrast pattern. Changing it takes an L2 perturbation of several units,
 *   and, being smooth, it survives small shifts and rotations; each image shows it moved by a
 *   random shift (±`robustShift` px), rotation (±`robustRotationDeg`) and contrast scale.
 * - a NON-ROBUST feature p_k, by `nonRobustKind` (docs/synthetic-world.md): `tint`, the demo's, a
 *   faint smooth colour cast in a world whose other content is grey (`tintPatterns`); `motif`, a
 *   small centred high-frequency patch (`motifPatterns`); or `grating` (the default, the control
 *   world), a sum of `nonRobustComponents` colour gratings at high spatial
 *   frequencies (max(|u|,|v|) in `nonRobustBand` cycles per image), of L2 norm exactly
 *   `nonRobustNorm` (0.15 by default: about 1/255 per pixel, invisible). Classes use disjoint
 *   frequencies (disjoint under horizontal mirroring too), so the p_k are exactly orthogonal:
 *   swapping p_y for p_t is a perturbation of norm √2·0.15 ≈ 0.21, below the demo's L2 ε of 0.25.
 *   p_y is always the label's, so correlating with the p_k predicts the label by itself.
 * On top: a random base colour, a smooth random background, a faint copy of another class's robust
 * pattern (a distractor), a smooth squash into [0.08, 0.92] (so the additive patterns and the
 * swap never clip), and white noise. With `robustReliability` < 1 an image shows a random other
 * class's robust pattern, so only the non-robust feature is perfectly predictive (as in Ilyas et
 * al.'s account of natural data); the class shown is recorded in the metadata.
 *
 * Everything is a deterministic function of (params, split, index): image i draws from its own
 * generator, so any subset can be regenerated alone. Float32 storage: the non-robust pattern lies
 * far below one 8-bit grey level.
 */
import type { ProgressSink } from '../../contracts/progress.ts';
import { Rng } from '../random.ts';
import { DatasetWriter, type DatasetHeader } from './dataset-file.ts';

export interface SyntheticParams {
  readonly seed: number;
  readonly trainCount: number;
  readonly testCount: number;
  readonly size: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Peak amplitude of the robust blobs (before the squash). */
  readonly robustStrength: number;
  /** Probability that an image shows its own class's robust pattern (else a random other class's). */
  readonly robustReliability: number;
  /** Per-image motion of the robust pattern: shift (px), rotation (deg), contrast scale ±. */
  readonly robustShift: number;
  readonly robustRotationDeg: number;
  readonly robustScaleJitter: number;
  /** Amplitude of another class's robust pattern added faintly, relative to robustStrength. */
  readonly distractor: number;
  /** Amplitude of each of the 4 low-frequency background waves. */
  readonly background: number;
  /** L2 norm of the non-robust pattern of every image. */
  readonly nonRobustNorm: number;
  /** Frequency band [lo, hi] (cycles per image, max(|u|,|v|)) of the non-robust gratings. */
  readonly nonRobustBand: readonly [number, number];
  readonly nonRobustComponents: number;
  /**
   * What the non-robust pattern is: `grating` (the gratings above, at a fixed phase: std
   * augmentation's shifts move their phase, and networks trained through it never learn them) or
   * `motif` (a small high-frequency colour patch of side `motifSize` at the image centre, mirror
   * symmetric: a shift moves it whole and a flip maps it onto itself, so one convolution filter
   * finds it in any augmented image) or `tint` (a faint, smooth colour cast: one of five
   * mirror-symmetric low-frequency shapes, flat, cos x, cos y, cos x·cos y and a centred bump, in
   * one of two chroma directions; in this world the robust blobs, the background and the base
   * colour are grey, so the chroma plane carries the tint and pixel noise only). Shifts of a few
   * pixels and flips leave a tint almost unchanged, so its evidence is first-order in any
   * augmented image, as natural images' colour and texture statistics are.
   */
  readonly nonRobustKind: 'grating' | 'motif' | 'tint';
  readonly motifSize: number;
  /** Standard deviation of the white pixel noise. */
  readonly noise: number;
}

export const SYNTHETIC_DEFAULTS: SyntheticParams = {
  seed: 0,
  trainCount: 10_000,
  testCount: 2_000,
  size: 32,
  channels: 3,
  numClasses: 10,
  robustStrength: 0.25,
  robustReliability: 0.9,
  robustShift: 2,
  robustRotationDeg: 10,
  robustScaleJitter: 0.3,
  distractor: 0.35,
  background: 0.06,
  nonRobustNorm: 0.15,
  nonRobustBand: [6, 11],
  nonRobustComponents: 3,
  nonRobustKind: 'grating',
  motifSize: 6,
  noise: 0.01,
};

export type SyntheticSplit = 'train' | 'test';

interface Blob {
  readonly cx: number;
  readonly cy: number;
  readonly sigma: number;
  /** Signed colour, max |component| = 1. */
  readonly colour: readonly number[];
}

export interface Grating {
  readonly u: number;
  readonly v: number;
  readonly phase: number;
  readonly colour: readonly number[];
}

/** The planted patterns, shared by the train and test splits of one parameter set. */
export interface SyntheticBank {
  readonly params: SyntheticParams;
  readonly blobs: readonly (readonly Blob[])[];
  readonly gratings: readonly (readonly Grating[])[];
  /** p_k, HWC, L2 norm exactly params.nonRobustNorm. */
  readonly nonRobust: readonly Float32Array[];
}

export function resolveSyntheticParams(partial: Partial<SyntheticParams> = {}): SyntheticParams {
  const p: SyntheticParams = { ...SYNTHETIC_DEFAULTS, ...partial };
  const bad = (msg: string): never => {
    throw new Error(`synthetic dataset: ${msg}`);
  };
  if (!Number.isInteger(p.seed)) bad(`seed must be an integer, got ${p.seed}`);
  for (const k of ['trainCount', 'testCount'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) bad(`${k} must be a non-negative integer, got ${p[k]}`);
  }
  for (const k of ['size', 'channels', 'numClasses', 'nonRobustComponents'] as const) {
    if (!Number.isInteger(p[k]) || p[k] <= 0) bad(`${k} must be a positive integer, got ${p[k]}`);
  }
  if (p.nonRobustKind !== 'grating' && p.nonRobustKind !== 'motif' && p.nonRobustKind !== 'tint')
    bad(`nonRobustKind must be 'grating', 'motif' or 'tint', got ${String(p.nonRobustKind)}`);
  if (p.nonRobustKind === 'tint' && (p.channels !== 3 || p.numClasses > 10))
    bad(`nonRobustKind 'tint' needs 3 channels and at most 10 classes (5 shapes x 2 chroma directions), got ${p.channels} and ${p.numClasses}`);
  if (!Number.isInteger(p.motifSize) || p.motifSize < 2 || p.motifSize > p.size - 2)
    bad(`motifSize must be a whole number in 2..size-2 = ${p.size - 2}, got ${p.motifSize}`);
  if (p.channels !== 1 && p.channels !== 3) bad(`channels must be 1 or 3, got ${p.channels}`);
  if (p.numClasses < 2 || p.numClasses > 256) bad(`numClasses must be in 2..256, got ${p.numClasses}`);
  const [lo, hi] = p.nonRobustBand;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 3 && lo <= hi && hi < p.size / 2)) {
    bad(`nonRobustBand [${lo}, ${hi}] must be whole frequencies with 3 <= lo <= hi < size/2 = ${p.size / 2}`);
  }
  if (!(p.robustReliability >= 0 && p.robustReliability <= 1)) bad(`robustReliability must lie in [0, 1], got ${p.robustReliability}`);
  for (const k of ['robustStrength', 'robustShift', 'robustRotationDeg', 'robustScaleJitter', 'distractor', 'background', 'nonRobustNorm', 'noise'] as const) {
    if (!(p[k] >= 0 && Number.isFinite(p[k]))) bad(`${k} must be a non-negative number, got ${p[k]}`);
  }
  return p;
}

function colourVector(rng: Rng, channels: number): number[] {
  if (channels === 1) return [rng.bernoulli(0.5) ? 1 : -1];
  for (;;) {
    const c = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
    const m = Math.max(...c.map(Math.abs));
    if (m > 0.3) return c.map((v) => v / m);
  }
}

function unitColour(rng: Rng, channels: number): number[] {
  const c = Array.from({ length: channels }, () => rng.normal());
  const n = Math.hypot(...c) || 1;
  return c.map((v) => v / n);
}

/** Frequencies (u, v) up to sign, grouped into orbits under the horizontal mirror u -> -u. */
function mirrorOrbits(lo: number, hi: number): Array<Array<[number, number]>> {
  const orbits: Array<Array<[number, number]>> = [];
  for (let v = 0; v <= hi; v++) {
    for (let u = 0; u <= hi; u++) {
      if (Math.max(u, v) < lo) continue;
      // (u, v) and (-u, v) are one orbit; (u, v) ~ (-u, -v) as real gratings.
      orbits.push(
        u === 0 || v === 0
          ? [[u, v]]
          : [
              [u, v],
              [-u, v],
            ],
      );
    }
  }
  return orbits;
}

export function renderRobust(
  bank: SyntheticBank,
  cls: number,
  motion: { dx: number; dy: number; angleDeg: number; scale: number },
  out?: Float32Array,
): Float32Array {
  const { size: S, channels: C, robustStrength } = bank.params;
  const img = out ?? new Float32Array(S * S * C); // adds onto `out`
  const c0 = (S - 1) / 2;
  const t = (motion.angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  for (const b of bank.blobs[cls]!) {
    // Move the centre like rigid.ts moves content: rotate counter-clockwise about the centre, then shift.
    const rx = cos * (b.cx - c0) + sin * (b.cy - c0) + c0 + motion.dx;
    const ry = -sin * (b.cx - c0) + cos * (b.cy - c0) + c0 + motion.dy;
    const inv = 1 / (2 * b.sigma * b.sigma);
    const amp = motion.scale * robustStrength;
    // The Gaussian is separable: exp(-(dx² + dy²)/2σ²) = ex[x]·ey[y].
    const ex = new Float64Array(S);
    const ey = new Float64Array(S);
    for (let i = 0; i < S; i++) {
      ex[i] = Math.exp(-((i - rx) ** 2) * inv);
      ey[i] = amp * Math.exp(-((i - ry) ** 2) * inv);
    }
    for (let y = 0; y < S; y++) {
      const gy = ey[y]!;
      if (gy < 1e-7 * amp) continue;
      for (let x = 0; x < S; x++) {
        const g = gy * ex[x]!;
        const o = (y * S + x) * C;
        for (let c = 0; c < C; c++) img[o + c]! += g * b.colour[c]!;
      }
    }
  }
  return img;
}

/** Draws the class patterns of a parameter set (deterministic from its seed). */
export function syntheticBank(partial: Partial<SyntheticParams> = {}): SyntheticBank {
  const params = resolveSyntheticParams(partial);
  const { size: S, channels: C, numClasses: K, nonRobustComponents: M } = params;
  const rng = Rng.derive(params.seed, 'synthetic/patterns');
  // Robust: blob constellations, redrawn until every pair of classes differs clearly.
  const blobs: Blob[][] = [];
  const templates: Float32Array[] = [];
  const stub = { params, blobs, gratings: [], nonRobust: [] } as SyntheticBank;
  for (let k = 0; k < K; k++) {
    for (let attempt = 0; ; attempt++) {
      const cand: Blob[] = Array.from({ length: 3 }, () => ({
        cx: rng.uniform(0.25, 0.75) * (S - 1),
        cy: rng.uniform(0.25, 0.75) * (S - 1),
        sigma: rng.uniform(3.5, 6) * (S / 32),
        colour: greyIn(params, colourVector(rng, C)),
      }));
      blobs[k] = cand;
      const tpl = renderRobust(stub, k, { dx: 0, dy: 0, angleDeg: 0, scale: 1 });
      const norm = Math.hypot(...tpl);
      const distinct = templates.every((o) => {
        let d = 0;
        for (let i = 0; i < tpl.length; i++) d += (tpl[i]! - o[i]!) ** 2;
        return Math.sqrt(d) > 0.8 * Math.min(norm, Math.hypot(...o));
      });
      if (distinct || attempt > 200) {
        templates.push(tpl);
        break;
      }
    }
  }
  if (params.nonRobustKind === 'motif') return { params, blobs, gratings: [], nonRobust: motifPatterns(params, rng) };
  if (params.nonRobustKind === 'tint') return { params, blobs, gratings: [], nonRobust: tintPatterns(params, rng) };
  // Non-robust: disjoint mirror orbits of high frequencies, M per class.
  const orbits = rng.shuffle(mirrorOrbits(params.nonRobustBand[0], params.nonRobustBand[1]));
  if (orbits.length < K * M) {
    throw new Error(`synthetic dataset: band [${params.nonRobustBand.join(', ')}] has ${orbits.length} frequency orbits, ${K * M} needed`);
  }
  const gratings: Grating[][] = [];
  const nonRobust: Float32Array[] = [];
  for (let k = 0; k < K; k++) {
    const list: Grating[] = [];
    const p = new Float32Array(S * S * C);
    for (let m = 0; m < M; m++) {
      const orbit = orbits[k * M + m]!;
      const [u, v] = orbit[rng.int(orbit.length)]!;
      const g: Grating = { u, v, phase: rng.uniform(0, 2 * Math.PI), colour: unitColour(rng, C) };
      list.push(g);
      // Each component gets an equal share of the norm (they are orthogonal).
      const comp = new Float64Array(S * S * C);
      let sq = 0;
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          const w = Math.cos((2 * Math.PI * (u * x + v * y)) / S + g.phase);
          for (let c = 0; c < C; c++) {
            const val = w * g.colour[c]!;
            comp[(y * S + x) * C + c] = val;
            sq += val * val;
          }
        }
      const scale = params.nonRobustNorm / Math.sqrt(M) / Math.sqrt(sq);
      for (let i = 0; i < comp.length; i++) p[i]! += comp[i]! * scale;
    }
    gratings.push(list);
    nonRobust.push(p);
  }
  return { params, blobs, gratings, nonRobust };
}

/** In the tint world every colour but the tint's is grey: a colour becomes its largest component on all channels. */
function greyIn(params: SyntheticParams, colour: number[]): number[] {
  if (params.nonRobustKind !== 'tint') return colour;
  const m = colour.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
  return colour.map(() => m);
}

/**
 * The tint kind's p_k: shape ⊗ chroma, with five smooth mirror-symmetric shapes (orthonormalised
 * in that order) and two orthonormal chroma directions (orthogonal to grey, at a seeded angle),
 * so the ten patterns are exactly orthogonal and orthogonal to every grey image. Classes get the
 * ten in a seeded order; each has L2 norm nonRobustNorm.
 */
function tintPatterns(params: SyntheticParams, rng: Rng): Float32Array[] {
  const { size: S, numClasses: K } = params;
  const c0 = (S - 1) / 2;
  const w = (2 * Math.PI) / S;
  const raw: ((x: number, y: number) => number)[] = [
    () => 1,
    (x) => Math.cos(w * (x - c0)),
    (_x, y) => Math.cos(w * (y - c0)),
    (x, y) => Math.cos(w * (x - c0)) * Math.cos(w * (y - c0)),
    (x, y) => Math.exp(-((x - c0) ** 2 + (y - c0) ** 2) / (2 * (S / 4) ** 2)),
  ];
  const shapes: Float64Array[] = [];
  for (const f of raw) {
    const v = new Float64Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) v[y * S + x] = f(x, y);
    for (const q of shapes) {
      let d = 0;
      for (let i = 0; i < v.length; i++) d += v[i]! * q[i]!;
      for (let i = 0; i < v.length; i++) v[i]! -= d * q[i]!;
    }
    const n = Math.hypot(...v);
    shapes.push(v.map((x) => x / n));
  }
  const a = rng.uniform(0, Math.PI);
  const e1 = [1 / Math.SQRT2, -1 / Math.SQRT2, 0];
  const e2 = [1 / Math.sqrt(6), 1 / Math.sqrt(6), -2 / Math.sqrt(6)];
  const chroma = [0, Math.PI / 2].map((t) => e1.map((v, c) => Math.cos(a + t) * v + Math.sin(a + t) * e2[c]!));
  const order = rng.permutation(10);
  return Array.from({ length: K }, (_, k) => {
    const j = order[k]!;
    const shape = shapes[j >> 1]!;
    const colour = chroma[j & 1]!;
    const p = new Float32Array(S * S * 3);
    for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) p[i * 3 + c] = shape[i]! * colour[c]! * params.nonRobustNorm;
    return p;
  });
}

/** Top-left corner of the motif: centred, so the horizontal mirror maps its footprint onto itself. */
export function motifOrigin(params: SyntheticParams): { x0: number; y0: number } {
  const x0 = Math.floor((params.size - params.motifSize) / 2);
  return { x0, y0: x0 };
}

/**
 * The motif kind's p_k: random patches, mirror symmetric (column j equals column s-1-j), with no
 * mean in any channel, made exactly orthogonal by Gram-Schmidt and scaled to nonRobustNorm.
 * Placed at the centre of an otherwise zero image.
 */
function motifPatterns(params: SyntheticParams, rng: Rng): Float32Array[] {
  const { size: S, channels: C, numClasses: K, motifSize: s } = params;
  const half = Math.ceil(s / 2);
  // Free parameters: half the columns x rows x channels, less four smooth directions per channel.
  const dims = half * s * C - 4 * C;
  if (dims < K) throw new Error(`synthetic dataset: a ${s}x${s} mirror-symmetric motif has ${dims} free dimensions, ${K} classes need as many`);
  const { x0, y0 } = motifOrigin(params);
  // Smooth content (blobs, background) is locally a low-order polynomial; a motif orthogonal to
  // 1, y, y² and x² in every channel (x, xy and x³ are odd under the mirror already) does not
  // respond to it, so neither a matched filter nor a network sees the blobs' slopes as evidence.
  const smooth: Float64Array[] = [];
  const c0 = (s - 1) / 2;
  for (let c = 0; c < C; c++)
    for (const f of [
      (_x: number, _y: number) => 1,
      (_x: number, y: number) => y - c0,
      (_x: number, y: number) => (y - c0) ** 2,
      (x: number) => (x - c0) ** 2,
    ]) {
      const b = new Float64Array(s * s * C);
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) b[(y * s + x) * C + c] = f(x, y);
      for (const q of smooth) {
        let d = 0;
        for (let i = 0; i < b.length; i++) d += b[i]! * q[i]!;
        for (let i = 0; i < b.length; i++) b[i]! -= d * q[i]!;
      }
      const n = Math.hypot(...b);
      if (n > 1e-9) smooth.push(b.map((x) => x / n));
    }
  const patches: Float64Array[] = [];
  for (let k = 0; k < K; k++) {
    for (let attempt = 0; ; attempt++) {
      const v = new Float64Array(s * s * C);
      for (let y = 0; y < s; y++)
        for (let j = 0; j < half; j++)
          for (let c = 0; c < C; c++) {
            const r = rng.normal();
            v[(y * s + j) * C + c] = r;
            v[(y * s + (s - 1 - j)) * C + c] = r;
          }
      for (const q of [...smooth, ...patches]) {
        let d = 0;
        for (let i = 0; i < v.length; i++) d += v[i]! * q[i]!;
        for (let i = 0; i < v.length; i++) v[i]! -= d * q[i]!;
      }
      const n = Math.hypot(...v);
      if (n > 1e-6 || attempt > 100) {
        patches.push(v.map((x) => x / n));
        break;
      }
    }
  }
  return patches.map((q) => {
    const p = new Float32Array(S * S * C);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) for (let c = 0; c < C; c++) p[((y0 + y) * S + x0 + x) * C + c] = q[(y * s + x) * C + c]! * params.nonRobustNorm;
    return p;
  });
}

/**
 * Shift- and flip-invariant motif evidence: per class, the largest correlation of the image's
 * patches with the class's motif over every placement within `reach` px of
 * the centre (the motif is mirror symmetric, so a flip needs no second template). This is what
 * one convolution filter followed by a max-pool computes.
 */
export function motifEvidence(bank: SyntheticBank, image: Float32Array, reach = 6): Float64Array {
  const p = bank.params;
  const { size: S, channels: C, motifSize: s } = p;
  const { x0, y0 } = motifOrigin(p);
  const out = new Float64Array(bank.nonRobust.length).fill(-Infinity);
  const patch = new Float64Array(s * s * C);
  for (let dy = -reach; dy <= reach; dy++)
    for (let dx = -reach; dx <= reach; dx++) {
      const ox = x0 + dx;
      const oy = y0 + dy;
      if (ox < 0 || oy < 0 || ox + s > S || oy + s > S) continue;
      for (let c = 0; c < C; c++) for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) patch[(y * s + x) * C + c] = image[((oy + y) * S + ox + x) * C + c]!;
      bank.nonRobust.forEach((pk, k) => {
        let d = 0;
        for (let y = 0; y < s; y++)
          for (let x = 0; x < s; x++) for (let c = 0; c < C; c++) d += patch[(y * s + x) * C + c]! * pk[((y0 + y) * S + x0 + x) * C + c]!;
        if (d > out[k]!) out[k] = d;
      });
    }
  return out;
}

const SQUASH_CENTRE = 0.5;
const SQUASH_HALF_RANGE = 0.42;

/** Balanced labels for a split: a seeded permutation of (i mod numClasses). */
export function syntheticLabels(params: SyntheticParams, split: SyntheticSplit): Uint8Array {
  const n = split === 'train' ? params.trainCount : params.testCount;
  const perm = Rng.derive(params.seed, `synthetic/${split}/labels`).permutation(n);
  return Uint8Array.from(perm, (p) => p % params.numClasses);
}

/** Renders image `index` of `split` with label `label` into `out`; returns the robust class shown. */
export function renderSyntheticImage(
  bank: SyntheticBank,
  split: SyntheticSplit,
  index: number,
  label: number,
  out: Float32Array,
  scratch?: Float32Array,
): number {
  const p = bank.params;
  const { size: S, channels: C, numClasses: K } = p;
  const rng = Rng.derive(p.seed, `synthetic/${split}/${index}`);
  const shown = rng.bernoulli(p.robustReliability) ? label : (label + 1 + rng.int(K - 1)) % K;
  const distractorClass = (shown + 1 + rng.int(K - 1)) % K;
  const motion = (scale: number) => ({
    dx: rng.uniform(-p.robustShift, p.robustShift),
    dy: rng.uniform(-p.robustShift, p.robustShift),
    angleDeg: rng.uniform(-p.robustRotationDeg, p.robustRotationDeg),
    scale: scale * rng.uniform(1 - p.robustScaleJitter, 1 + p.robustScaleJitter),
  });
  const img = scratch ?? new Float32Array(S * S * C);
  img.fill(0);
  renderRobust(bank, shown, motion(1), img);
  if (p.distractor > 0) renderRobust(bank, distractorClass, motion(p.distractor), img);
  // Base colour and a smooth background of 4 low-frequency waves.
  const base = greyIn(
    p,
    Array.from({ length: C }, () => SQUASH_CENTRE + rng.uniform(-0.1, 0.1)),
  );
  for (let w = 0; w < 4; w++) {
    let u = 0;
    let v = 0;
    while (u === 0 && v === 0) {
      u = rng.int(5) - 2;
      v = rng.int(3);
    }
    const amp = rng.uniform(0, p.background) * Math.sqrt(C);
    const phase = rng.uniform(0, 2 * Math.PI);
    const colour = greyIn(p, unitColour(rng, C));
    // cos(a·x + b·y + φ) = cos(a·x)·cos(b·y + φ) − sin(a·x)·sin(b·y + φ)
    const cx = new Float64Array(S);
    const sx = new Float64Array(S);
    for (let i = 0; i < S; i++) {
      cx[i] = Math.cos((2 * Math.PI * u * i) / S);
      sx[i] = Math.sin((2 * Math.PI * u * i) / S);
    }
    for (let y = 0; y < S; y++) {
      const cy = amp * Math.cos((2 * Math.PI * v * y) / S + phase);
      const sy = amp * Math.sin((2 * Math.PI * v * y) / S + phase);
      for (let x = 0; x < S; x++) {
        const val = cx[x]! * cy - sx[x]! * sy;
        const o = (y * S + x) * C;
        for (let c = 0; c < C; c++) img[o + c]! += val * colour[c]!;
      }
    }
  }
  const pattern = bank.nonRobust[label]!;
  for (let i = 0; i < img.length; i += 2) {
    // Box-Muller, both outputs used.
    const radius = p.noise * Math.sqrt(-2 * Math.log((rng.nextU32() + 1) / 4294967297));
    const angle = 2 * Math.PI * rng.float();
    for (let k = i; k < Math.min(i + 2, img.length); k++) {
      const n = k === i ? radius * Math.cos(angle) : radius * Math.sin(angle);
      const smooth = SQUASH_CENTRE + SQUASH_HALF_RANGE * Math.tanh((base[k % C]! + img[k]! - SQUASH_CENTRE) / SQUASH_HALF_RANGE);
      const v = smooth + pattern[k]! + n;
      out[k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return shown;
}

export interface SyntheticSplitData {
  /** NHWC float32 in [0, 1]. */
  readonly pixels: Float32Array;
  readonly labels: Uint8Array;
  /** The class whose robust pattern each image shows (= label unless robustReliability < 1). */
  readonly robustClass: Uint8Array;
}

export function generateSyntheticSplit(bank: SyntheticBank, split: SyntheticSplit, onProgress?: ProgressSink): SyntheticSplitData {
  const p = bank.params;
  const per = p.size * p.size * p.channels;
  const labels = syntheticLabels(p, split);
  const pixels = new Float32Array(labels.length * per);
  const robustClass = new Uint8Array(labels.length);
  const scratch = new Float32Array(per);
  for (let i = 0; i < labels.length; i++) {
    robustClass[i] = renderSyntheticImage(bank, split, i, labels[i]!, pixels.subarray(i * per, (i + 1) * per), scratch);
    if (onProgress && ((i + 1) % 500 === 0 || i + 1 === labels.length)) onProgress({ done: i + 1, total: labels.length, unit: 'images', info: { split } });
  }
  return { pixels, labels, robustClass };
}

/** Writes the train and test splits as float32 dataset artifacts (metadata: params, robust classes). */
export function writeSynthetic(
  partial: Partial<SyntheticParams>,
  paths: { readonly trainPath: string; readonly testPath: string },
  onProgress?: ProgressSink,
): { train: DatasetHeader; test: DatasetHeader } {
  const bank = syntheticBank(partial);
  const p = bank.params;
  const write = (split: SyntheticSplit, path: string) => {
    const data = generateSyntheticSplit(bank, split, onProgress);
    const writer = new DatasetWriter(path, {
      count: data.labels.length,
      height: p.size,
      width: p.size,
      channels: p.channels,
      numClasses: p.numClasses,
      dtype: 'float32',
      classNames: Array.from({ length: p.numClasses }, (_, k) => `class${k}`),
      meta: {
        dataset: 'synthetic planted-feature',
        split,
        params: p,
        // One character per image (base 36 for up to 36 classes, else comma-separated).
        robustClass: p.numClasses <= 36 ? Array.from(data.robustClass, (c) => c.toString(36)).join('') : Array.from(data.robustClass).join(','),
      },
    });
    try {
      writer.append(data.pixels, data.labels);
    } catch (err) {
      writer.abort();
      throw err;
    }
    return writer.close();
  };
  return { train: write('train', paths.trainPath), test: write('test', paths.testPath) };
}

/** The pattern bank a synthetic artifact was made with (its parameters are in its metadata). */
export function syntheticBankFromMeta(meta: Readonly<Record<string, unknown>>): SyntheticBank {
  const params = meta.params;
  if (meta.dataset !== 'synthetic planted-feature' || typeof params !== 'object' || params === null) {
    throw new Error('dataset metadata has no synthetic parameters (not a synthetic planted-feature set?)');
  }
  return syntheticBank(params as Partial<SyntheticParams>);
}

/** Reads the robust classes back from a synthetic artifact's metadata. */
export function robustClassesFromMeta(meta: Readonly<Record<string, unknown>>): Uint8Array {
  const s = meta.robustClass;
  if (typeof s !== 'string') throw new Error('dataset metadata has no robustClass (not a synthetic planted-feature set?)');
  return s.includes(',') ? Uint8Array.from(s.split(','), Number) : Uint8Array.from(s, (ch) => parseInt(ch, 36));
}

// ---- probes: closed-form classifiers and feature surgery for experiments and tests ----

/** s_k = <x, p_k> / ||p_k||^2 for every class: about 1 for the planted class, 0 for the others. */
export function nonRobustScores(bank: SyntheticBank, image: Float32Array): Float64Array {
  const r2 = bank.params.nonRobustNorm ** 2;
  return Float64Array.from(bank.nonRobust, (p) => {
    let s = 0;
    for (let i = 0; i < p.length; i++) s += image[i]! * p[i]!;
    return s / r2;
  });
}

/**
 * Phase-invariant non-robust evidence: per class, the energy of the image at its grating
 * frequencies and their mirror images (|DFT|^2 along each grating's colour), measured through a
 * window that tapers to zero `margin` px from the border, so that black fill from translations
 * and rotations (sharp edges, energy at every frequency) does not swamp it. Shifts and flips move
 * a grating's phase, not its frequency, so this still finds the planted class in augmented images.
 */
export function nonRobustEnergy(bank: SyntheticBank, image: Float32Array, margin = 5): Float64Array {
  const { size: S, channels: C } = bank.params;
  const window = new Float64Array(S);
  const span = S - 2 * margin;
  for (let i = 0; i < S; i++) {
    const t = (i - margin + 0.5) / span;
    window[i] = t > 0 && t < 1 ? Math.sin(Math.PI * t) ** 2 : 0;
  }
  return Float64Array.from(bank.gratings, (list) => {
    let e = 0;
    for (const g of list) {
      // Project onto the grating's colour, remove the windowed mean, then take the DFT bin.
      const proj = new Float64Array(S * S);
      let wsum = 0;
      let mean = 0;
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          const o = (y * S + x) * C;
          let v = 0;
          for (let c = 0; c < C; c++) v += image[o + c]! * g.colour[c]!;
          const w = window[y]! * window[x]!;
          proj[y * S + x] = v;
          mean += w * v;
          wsum += w;
        }
      mean /= wsum || 1;
      for (const u of g.u === 0 ? [0] : [g.u, -g.u]) {
        let re = 0;
        let im = 0;
        for (let y = 0; y < S; y++)
          for (let x = 0; x < S; x++) {
            const w = window[y]! * window[x]!;
            if (w === 0) continue;
            const v = w * (proj[y * S + x]! - mean);
            const a = (2 * Math.PI * (u * x + g.v * y)) / S;
            re += v * Math.cos(a);
            im += v * Math.sin(a);
          }
        e += re * re + im * im;
      }
    }
    return e;
  });
}

/** Correlation of the (mean-removed) image with each class's centred robust template. */
export function robustScores(bank: SyntheticBank, image: Float32Array): Float64Array {
  const templates = robustTemplates(bank);
  const n = image.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += image[i]!;
  mean /= n;
  return Float64Array.from(templates, (t) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (image[i]! - mean) * t[i]!;
    return s;
  });
}

const templateCache = new WeakMap<SyntheticBank, Float32Array[]>();
function robustTemplates(bank: SyntheticBank): Float32Array[] {
  let t = templateCache.get(bank);
  if (!t) {
    t = bank.blobs.map((_, k) => {
      const tpl = renderRobust(bank, k, { dx: 0, dy: 0, angleDeg: 0, scale: 1 });
      let mean = 0;
      for (const v of tpl) mean += v;
      mean /= tpl.length;
      const norm = Math.sqrt(tpl.reduce((s, v) => s + (v - mean) ** 2, 0)) || 1;
      return tpl.map((v) => (v - mean) / norm);
    });
    templateCache.set(bank, t);
  }
  return t;
}

/**
 * The image with its non-robust pattern swapped from class `from` to class `to`:
 * x - p_from + p_to, clamped to [0, 1] (never active on images this module makes). The
 * perturbation's L2 norm is √2 · nonRobustNorm.
 */
export function swapNonRobust(bank: SyntheticBank, image: Float32Array, from: number, to: number): Float32Array {
  const a = bank.nonRobust[from]!;
  const b = bank.nonRobust[to]!;
  return image.map((v, i) => Math.min(1, Math.max(0, v - a[i]! + b[i]!)));
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
