/**
 * Batch normalisation with PyTorch semantics (eps 1e-5, momentum 0.1), optionally sharing its
 * statistics across the group axis of a G-CNN feature (channels laid out as c * groupSize + s).
 *
 * Running statistics are not updated inside the forward pass. In 'train' mode the layer hands its
 * batch mean and (biased) variance to a `BatchNormUpdates` recorder when one is passed; the trainer
 * applies them after the optimiser step with `apply()`. Doing the update as a separate step, outside
 * any gradient closure, keeps the `assign` off the gradient tape and keeps a forward pass free of
 * side effects (an attack or a gradient check may run 'train' mode without moving the statistics).
 *
 * Update (PyTorch): running_mean <- (1 - m) running_mean + m batch_mean;
 *                   running_var  <- (1 - m) running_var  + m batch_var * n / (n - 1)   (unbiased),
 * where n is the number of values each statistic averages (N*H*W, times groupSize when shared).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from '../backend/batch-norm.ts';
import { batchNormTrainRelu } from '../backend/batch-norm-relu.ts';
import { batchNormRelu } from '../backend/batch-norm-eval.ts';
import { addRelu } from '../backend/add-relu.ts';
import { affineRows, centreGroups, spreadOverGroups, type GroupBnRoute } from '../backend/group-batch-norm.ts';
import type { Mode } from './classifier.ts';
import type { Param, ParamStore } from './params.ts';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

interface PendingUpdate {
  readonly bn: BatchNorm;
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  readonly count: number;
}

/** Collects the batch statistics of one train-mode forward pass for a later running-stat update. */
export class BatchNormUpdates {
  private pending: PendingUpdate[] = [];

  /** @internal called by BatchNorm in train mode. Keeps the tensors alive beyond the caller's tidy. */
  record(bn: BatchNorm, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void {
    this.pending.push({ bn, mean: tf.keep(mean), variance: tf.keep(variance), count });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Moves every recorded layer's running statistics toward its batch statistics, then forgets them. */
  apply(): void {
    tf.tidy(() => {
      for (const { bn, mean, variance, count } of this.pending) {
        const m = bn.momentum;
        const unbiased = count > 1 ? variance.mul(count / (count - 1)) : variance;
        bn.runningMean.v.assign(bn.runningMean.v.mul(1 - m).add(mean.mul(m)));
        bn.runningVar.v.assign(bn.runningVar.v.mul(1 - m).add(unbiased.mul(m)));
      }
    });
    this.discard();
  }

  discard(): void {
    for (const u of this.pending) {
      u.mean.dispose();
      u.variance.dispose();
    }
    this.pending = [];
  }
}

export interface ForwardContext {
  readonly mode: Mode;
  /** Where train-mode batch norm reports its batch statistics; absent = no running-stat update. */
  readonly bnUpdates?: BatchNormUpdates;
}

export class BatchNorm {
  readonly weight: Param;
  readonly bias: Param;
  readonly runningMean: Param;
  readonly runningVar: Param;

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly channels: number,
    /** 1 for plain feature maps; 8 to share statistics across the p4m group axis. */
    readonly groupSize = 1,
    readonly momentum = BN_MOMENTUM,
    readonly eps = BN_EPS,
  ) {
    this.weight = store.add(`${name}.weight`, [channels], { kind: 'ones' });
    this.bias = store.add(`${name}.bias`, [channels], { kind: 'zeros' });
    this.runningMean = store.add(`${name}.running_mean`, [channels], { kind: 'zeros' }, false);
    this.runningVar = store.add(`${name}.running_var`, [channels], { kind: 'ones' }, false);
  }

  /**
   * relu(apply(x, ctx) [+ skip]), each route the same bits as the composed ops. 'eval' mode: one
   * fused op (batchNormRelu, ml/backend/batch-norm-eval.ts). Training without `skip`: plain batch
   * norm as batchNormTrainRelu (on native a full-size pass fewer each way), group batch norm through
   * its fused passes; with `skip`: apply, then relu(y + skip) as one op (addRelu).
   */
  applyRelu(x: tf.Tensor4D, ctx: ForwardContext, skip?: tf.Tensor4D): tf.Tensor4D {
    if (ctx.mode === 'eval') {
      this.checkChannels(x);
      return tf.tidy(() => {
        const [mean, variance, offset, scale] = [this.runningMean, this.runningVar, this.bias, this.weight].map((p) => this.perChannel(p.v as tf.Tensor1D));
        return batchNormRelu(x, mean!, variance!, offset!, scale!, this.eps, skip);
      });
    }
    if (skip !== undefined) return addRelu(this.apply(x, ctx), skip);
    if (this.groupSize !== 1) return this.groupTrain(x, ctx, true);
    this.checkChannels(x);
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      const r = batchNormTrainRelu(x, this.weight.v as tf.Tensor1D, this.bias.v as tf.Tensor1D, this.eps);
      ctx.bnUpdates?.record(this, r.mean, r.variance, n * h * w);
      return r.y;
    });
  }

  private checkChannels(x: tf.Tensor4D): void {
    const c = x.shape[3];
    if (c !== this.channels * this.groupSize) {
      throw new Error(`${this.name}: expected ${this.channels * this.groupSize} channels (${this.channels} x ${this.groupSize}), got ${c}`);
    }
  }

  /**
   * A per-C vector spread over its g channels ((C, g) layout) by a broadcast multiply, not by tile
   * (whose gradient is g slices and adds per use); the vector itself when g = 1.
   */
  private perChannel(v: tf.Tensor1D): tf.Tensor1D {
    const g = this.groupSize;
    if (g === 1) return v;
    return v
      .reshape([this.channels, 1])
      .mul(tf.ones([1, g]))
      .reshape([this.channels * g]) as tf.Tensor1D;
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const g = this.groupSize;
    if (c !== this.channels * g) {
      throw new Error(`${this.name}: expected ${this.channels * g} channels (${this.channels} x ${g}), got ${c}`);
    }
    return tf.tidy(() => {
      if (g === 1) {
        if (ctx.mode === 'eval') {
          return tf.batchNorm(
            x,
            this.runningMean.v as tf.Tensor1D,
            this.runningVar.v as tf.Tensor1D,
            this.bias.v as tf.Tensor1D,
            this.weight.v as tf.Tensor1D,
            this.eps,
          );
        }
        // One op on the native backend (two fused kernels instead of ~20 elementwise passes).
        const r = batchNormTrain(x, this.weight.v as tf.Tensor1D, this.bias.v as tf.Tensor1D, this.eps);
        ctx.bnUpdates?.record(this, r.mean, r.variance, n * h * w);
        return r.y;
      }
      // Channels are laid out (C, g): statistics per C over N, H, W and the group axis. Written
      // with leading- and trailing-axis sums and row broadcasts only, which every backend runs
      // fast (5-D reductions and transposes fall back to slow generic code). A per-C vector is
      // spread over its g channels by a broadcast multiply, not by tile (whose gradient is g
      // slices and adds per use).
      const C = this.channels;
      const spread = tf.ones([1, g]);
      const perGroup = (v: tf.Tensor1D) =>
        v
          .reshape([C, 1])
          .mul(spread)
          .reshape([C * g]) as tf.Tensor1D;
      if (ctx.mode === 'eval') {
        // The running statistics are constants: one fused normalisation pass over x.
        return tf.batchNorm(
          x,
          perGroup(this.runningMean.v as tf.Tensor1D),
          perGroup(this.runningVar.v as tf.Tensor1D),
          perGroup(this.bias.v as tf.Tensor1D),
          perGroup(this.weight.v as tf.Tensor1D),
          this.eps,
        );
      }
      return this.groupTrain(x, ctx, false);
    });
  }

  /** Train-mode group batch norm (then ReLU when `relu`). */
  private groupTrain(x: tf.Tensor4D, ctx: ForwardContext, relu: boolean): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const g = this.groupSize;
    if (c !== this.channels * g) {
      throw new Error(`${this.name}: expected ${this.channels * g} channels (${this.channels} x ${g}), got ${c}`);
    }
    return tf.tidy(() => {
      const x2 = x.reshape([n * h * w, c]) as tf.Tensor2D;
      const r = groupBatchNormTrain(x2, this.weight.v as tf.Tensor1D, this.bias.v as tf.Tensor1D, g, this.eps, 'auto', relu);
      ctx.bnUpdates?.record(this, r.mean, r.variance, n * h * w * g);
      return r.y.reshape([n, h, w, c]) as tf.Tensor4D;
    });
  }
}

/**
 * Training-mode batch norm of x [rows, C * g] with statistics per C shared over the g channels of
 * each field: mean and biased variance [C], and y. The full-size steps (centring, squares, the
 * affine map) are fused on native (`route` 'auto'; ml/backend/group-batch-norm.ts), with the same
 * bits as the composed ops ('composed', every backend). `relu`: y = relu(y), fused there too.
 */
export function groupBatchNormTrain(
  x2: tf.Tensor2D,
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  g: number,
  eps: number,
  route: GroupBnRoute = 'auto',
  relu = false,
): { y: tf.Tensor2D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [rows, c] = x2.shape;
  const C = c / g;
  const { centred, sqSum, mean } = centreGroups(x2, g, route);
  const variance = sqSum
    .reshape([C, g])
    .sum(1)
    .div(rows * g) as tf.Tensor1D;
  const scale = tf.rsqrt(variance.add(eps)).mul(weight) as tf.Tensor1D;
  const y = affineRows(centred, spreadOverGroups(scale, g), spreadOverGroups(bias, g), route, relu);
  return { y, mean, variance };
}
