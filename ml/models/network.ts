/**
 * The one `Model` implementation: a body (everything up to the penultimate representation g(x), the
 * input normalisation included) and a linear head, over a store of named parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from './batch-norm.ts';
import type { FeatureOptions, Mode } from './classifier.ts';
import type { ModelConfig } from './config.ts';
import type { Linear } from './layers.ts';
import type { LogitsOptions, Model, NamedVariable } from './model.ts';
import type { ParamStore } from './params.ts';

export interface Body {
  /** Penultimate representation [N, featureDim] of raw [0, 1] images. */
  features(x: tf.Tensor4D, ctx: ForwardContext, reluPassThrough: boolean): tf.Tensor2D;
  readonly featureDim: number;
}

export class Network implements Model {
  readonly namedVariables: readonly NamedVariable[];
  readonly trainableVariables: readonly tf.Variable[];
  private disposed = false;

  constructor(
    readonly config: ModelConfig,
    private readonly store: ParamStore,
    private readonly body: Body,
    private readonly head: Linear,
  ) {
    this.namedVariables = store.all.map((p) => ({ name: p.name, variable: p.v, trainable: p.spec.trainable }));
    this.trainableVariables = this.namedVariables.filter((v) => v.trainable).map((v) => v.variable);
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  private check(x: tf.Tensor4D): void {
    if (this.disposed) throw new Error(`${this.config.arch}: model used after dispose()`);
    const s = this.config.inputSize;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== 3) {
      throw new Error(`${this.config.arch}: expected input [N, ${s}, ${s}, 3], got [${x.shape}]`);
    }
  }

  logits(x: tf.Tensor4D, mode: Mode, options: LogitsOptions = {}): tf.Tensor2D {
    this.check(x);
    const ctx: ForwardContext = options.bnUpdates ? { mode, bnUpdates: options.bnUpdates } : { mode };
    return tf.tidy(() => this.head.apply(this.body.features(x, ctx, false)));
  }

  features(x: tf.Tensor4D, options: FeatureOptions = {}): tf.Tensor2D {
    this.check(x);
    return tf.tidy(() => this.body.features(x, { mode: 'eval' }, options.reluPassThrough ?? false));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.store.dispose();
  }
}
