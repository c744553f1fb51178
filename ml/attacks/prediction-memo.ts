/**
 * The labels one model gave to (image, rigid motion) pairs, kept in this process for the next grid
 * attack on the same model: in a worker that runs a model's evaluations one after another, rot30
 * finds every one of its points among grid775's, rot10 among grid775_10's, and grid775 and
 * grid775_10 share 275 points, so the pairs an earlier attack ran are not run again.
 *
 * Exact only where a label does not depend on the batch it was computed in (the other images, the
 * batch size): true of the native, cpu and wasm backends' kernels, which
 * test/backend-batch-invariance checks on every demo architecture (native: with the kernels of
 * the CPU it runs on and capped to AVX2; its matrix products go to oneDNN in fixed row blocks
 * for this), and not promised by cuDNN or WebGPU, whose algorithm choice may depend on the batch
 * size. So the memo is used on those three backends only (`memoSafeBackend`).
 *
 * A scope is the model's identity (the SHA-256 of its file): entering another scope forgets
 * everything. Images are keyed by the SHA-256 of their pixels, motions by their exact numbers, so a
 * pair is served only for the very image and motion it was computed for.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { RigidMotion } from '../transform/rigid.ts';
import type { KnownLabels } from './spatial.ts';

/** Backends whose kernels give every image the same logits whatever batch it is in. */
const BATCH_INVARIANT = new Set(['cpu', 'wasm', 'native']);

export function memoSafeBackend(backend: string = tf.getBackend()): boolean {
  return BATCH_INVARIANT.has(backend);
}

/** Beyond this many images the memo starts again (about 2 KB per image at the paper's grids). */
const MAX_IMAGES = 50_000;
const UNKNOWN = -1;

export class PredictionMemo {
  private scope: string | undefined;
  /** Per image digest: the label under each motion column, UNKNOWN where not computed. */
  private readonly rows = new Map<string, Int16Array>();
  private readonly columns = new Map<string, number>();

  /** Keeps what the memo holds only if it was filled under this scope. */
  enter(scope: string): void {
    if (scope === this.scope) return;
    this.clear();
    this.scope = scope;
  }

  clear(): void {
    this.rows.clear();
    this.columns.clear();
    this.scope = undefined;
  }

  /** Images the memo holds labels for. */
  get size(): number {
    return this.rows.size;
  }

  /**
   * The pairs of these images (`count` NHWC images of `stride` values in `images`) under these
   * motions, as a grid attack indexes them. Labels must fit in 15 bits.
   */
  view(images: Float32Array, count: number, stride: number, motions: readonly RigidMotion[]): KnownLabels {
    if (this.scope === undefined) throw new Error('PredictionMemo: enter a scope (the model) first');
    if (this.rows.size + count > MAX_IMAGES) this.rows.clear();
    const cols = motions.map((m) => this.column(m));
    const width = this.columns.size;
    const rows: Int16Array[] = [];
    for (let i = 0; i < count; i++) {
      const pixels = images.subarray(i * stride, (i + 1) * stride);
      const key = createHash('sha256')
        .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
        .digest('base64');
      let row = this.rows.get(key) ?? new Int16Array(0);
      // Wide enough for every column this view can touch, before the attack holds it.
      if (row.length < width) {
        const wider = new Int16Array(Math.max(width, 2 * row.length)).fill(UNKNOWN);
        wider.set(row);
        row = wider;
        this.rows.set(key, row);
      }
      rows.push(row);
    }
    return {
      get: (image, point) => rows[image]![cols[point]!]!,
      set: (image, point, label) => {
        if (!(Number.isInteger(label) && label >= 0 && label < 0x8000)) throw new Error(`PredictionMemo: label ${label} does not fit`);
        rows[image]![cols[point]!] = label;
      },
    };
  }

  private column(m: RigidMotion): number {
    const exact = (v: number) => (Object.is(v, -0) ? '-0' : String(v)); // String() round-trips a double
    const key = `${exact(m.angleDeg)} ${exact(m.tx)} ${exact(m.ty)}`;
    let c = this.columns.get(key);
    if (c === undefined) {
      c = this.columns.size;
      this.columns.set(key, c);
    }
    return c;
  }
}

/** The process's memo (a worker runs one node at a time). */
export const predictionMemo = new PredictionMemo();
