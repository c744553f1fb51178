import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.ts';
import { selectRows } from '../backend/select-rows.ts';
import { apgdBatch } from './apgd.ts';
import { fabBatch } from './fab.ts';
import { squareBatch } from './square.ts';
import { imageRngs } from './threat.ts';
import { AUTOATTACK_COMPONENTS, type AutoAttackComponent } from './autoattack-components.ts';

/**
 * AutoAttack (docs/attacks.md): the components run in a fixed order, each on the images every
 * earlier one left classified correctly; an image counts as robust only if it survives them all,
 * so its outcome is the worst case over the set.
 */
export { AUTOATTACK_COMPONENTS, type AutoAttackComponent };

export interface AutoAttackOptions {
  readonly norm: 'l2' | 'linf';
  readonly eps: number;
  /** Components to run, in this order. */
  readonly components: readonly AutoAttackComponent[];
  readonly apgdIterations: number;
  readonly apgdRestarts: number;
  /** APGD-T: how many target classes, the highest-scoring wrong classes of the untouched image first. */
  readonly targets: number;
  /** FAB-T: steps per target class (the same `targets` classes as APGD-T). */
  readonly fabIterations: number;
  readonly squareQueries: number;
  readonly squarePInit: number;
  readonly seed: number;
  /** Per image an identity (its dataset index), which names its random streams. */
  readonly ids: ArrayLike<number>;
  readonly onComponent?: (component: AutoAttackComponent, attacked: number, broken: number) => void;
}

export interface AutoAttackResult {
  /** Per image: the adversarial example of the component that broke it, else the untouched image. */
  readonly adversarial: tf.Tensor4D;
  /** 1 where the untouched image is classified correctly. */
  readonly natural: Uint8Array;
  /** 1 where the image survived every component. */
  readonly robust: Uint8Array;
  /** Per image: the component that broke it, 'natural' if wrong untouched, null if robust. */
  readonly brokenBy: (AutoAttackComponent | 'natural' | null)[];
}

/** The random streams of one component run (one per image, named by the component and, for APGD-T, the target rank). */
export function componentRngs(seed: number, component: string, ids: ArrayLike<number>) {
  return imageRngs(seed, `autoattack-${component}`, ids);
}

/** Ranks of the wrong classes per image by their clean logit, highest first. */
function targetOrder(z: Float32Array, y: Int32Array, k: number): Int32Array[] {
  return Array.from(y, (label, i) => {
    const row = z.subarray(i * k, (i + 1) * k);
    const order = Array.from({ length: k }, (_, j) => j).filter((j) => j !== label);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    return Int32Array.from(order);
  });
}

/** AutoAttack on one batch; `labels` are the true classes (int32 [N]). The caller disposes `adversarial`. */
export function autoAttackBatch(model: Classifier, x0: tf.Tensor4D, labels: tf.Tensor1D, o: AutoAttackOptions): AutoAttackResult {
  const n = x0.shape[0];
  if (labels.shape[0] !== n || o.ids.length !== n) throw new Error(`AutoAttack: ${labels.shape[0]} labels and ${o.ids.length} ids for ${n} images`);
  for (const c of o.components) if (!AUTOATTACK_COMPONENTS.includes(c)) throw new Error(`AutoAttack: unknown component '${String(c)}'`);
  const k = model.numClasses;
  if ((o.components.includes('apgd-t') || o.components.includes('fab-t')) && !(Number.isInteger(o.targets) && o.targets >= 1 && o.targets <= k - 1)) {
    throw new Error(`AutoAttack: targets must be an integer in 1..${k - 1} for a ${k}-class model, got ${o.targets}`);
  }
  const y = Int32Array.from(labels.dataSync());
  const z = tf.tidy(() => model.logits(x0, 'eval').dataSync() as Float32Array);
  const natural = Uint8Array.from(y, (label, i) => {
    let a = 0;
    for (let j = 1; j < k; j++) if (z[i * k + j]! > z[i * k + a]!) a = j;
    return a === label ? 1 : 0;
  });
  const robust = natural.slice();
  const brokenBy: AutoAttackResult['brokenBy'] = Array.from(natural, (v) => (v ? null : 'natural'));
  const order = targetOrder(z, y, k);
  let adversarial = tf.clone(x0);

  // Runs `attack` on the still-robust images and keeps what it breaks.
  const stage = (
    component: AutoAttackComponent,
    attack: (x: tf.Tensor4D, yy: tf.Tensor1D, rows: number[]) => { adversarial: tf.Tensor4D; fooled: Uint8Array },
  ) => {
    const rows = [...robust.keys()].filter((i) => robust[i]);
    if (rows.length === 0) return;
    const idx = tf.tensor1d(rows, 'int32');
    const xs = tf.gather(x0, idx) as tf.Tensor4D;
    const ys = tf.gather(labels, idx) as tf.Tensor1D;
    const r = attack(xs, ys, rows);
    const take = new Uint8Array(n);
    const rowOf = new Int32Array(n);
    let broken = 0;
    rows.forEach((i, j) => {
      rowOf[i] = j;
      if (r.fooled[j]) {
        take[i] = 1;
        robust[i] = 0;
        brokenBy[i] = component;
        broken++;
      }
    });
    const next = tf.tidy(() =>
      selectRows(tf.tensor1d(take, 'bool') as tf.Tensor1D, tf.gather(r.adversarial, tf.tensor1d(rowOf, 'int32')) as tf.Tensor4D, adversarial),
    );
    tf.dispose([idx, xs, ys, r.adversarial, adversarial]);
    adversarial = next;
    o.onComponent?.(component, rows.length, broken);
  };
  /** The targeted components: one run per target rank, each only on the images the earlier ranks did not break. */
  const perTargetRank = (
    component: AutoAttackComponent,
    attack: (x: tf.Tensor4D, yy: tf.Tensor1D, rows: number[], targets: tf.Tensor1D, rank: number) => { adversarial: tf.Tensor4D; fooled: Uint8Array },
  ) => {
    for (let t = 0; t < o.targets; t++) {
      stage(component, (xs, ys, rows) => {
        const targets = tf.tensor1d(
          rows.map((i) => order[i]![t]!),
          'int32',
        );
        try {
          return attack(xs, ys, rows, targets, t);
        } finally {
          targets.dispose();
        }
      });
    }
  };

  try {
    for (const component of o.components) {
      const common = { norm: o.norm, eps: o.eps, iterations: o.apgdIterations };
      if (component === 'apgd-ce') {
        stage(component, (xs, ys, rows) =>
          apgdBatch(model, xs, ys, {
            ...common,
            restarts: o.apgdRestarts,
            loss: 'ce',
            rngs: componentRngs(
              o.seed,
              component,
              rows.map((i) => o.ids[i]!),
            ),
          }),
        );
      } else if (component === 'apgd-t') {
        perTargetRank(component, (xs, ys, rows, targets, t) =>
          apgdBatch(model, xs, ys, {
            ...common,
            restarts: 1,
            loss: 'dlr-targeted',
            targets,
            rngs: componentRngs(
              o.seed,
              `${component}-${t}`,
              rows.map((i) => o.ids[i]!),
            ),
          }),
        );
      } else if (component === 'fab-t') {
        // FAB draws no random numbers (one run from the untouched image, as AutoAttack's FAB-T).
        perTargetRank(component, (xs, ys, _rows, targets) => fabBatch(model, xs, ys, { norm: o.norm, eps: o.eps, iterations: o.fabIterations, targets }));
      } else {
        stage(component, (xs, ys, rows) =>
          squareBatch(model, xs, ys, {
            norm: o.norm,
            eps: o.eps,
            queries: o.squareQueries,
            pInit: o.squarePInit,
            rngs: componentRngs(
              o.seed,
              component,
              rows.map((i) => o.ids[i]!),
            ),
          }),
        );
      }
    }
  } catch (e) {
    adversarial.dispose();
    throw e;
  }
  return { adversarial, natural, robust, brokenBy };
}
