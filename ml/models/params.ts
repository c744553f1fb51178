/**
 * Named parameters, declared first and materialised later. Building a network only declares
 * (name, shape, initialiser); `materialise` then creates the tf.Variables, either from a seed or
 * from stored values. Counting parameters of a full-size model therefore allocates nothing, and
 * loading a saved model does not pay for a random initialisation it would overwrite.
 *
 * Initial values are generated in JS from `Rng.derive(seed, name)`, so a parameter's initial value
 * depends only on the seed and its name (not on declaration order) and is identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.ts';

export type Init =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  /** Uniform in [-bound, bound] (PyTorch's default for conv and linear layers: bound = 1/sqrt(fan_in)). */
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'values'; readonly values: readonly number[] };

export interface ParamSpec {
  /** PyTorch-style path, e.g. `layer2.0.conv1.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** false for batch-norm running statistics: state, not updated by the optimiser. */
  readonly trainable: boolean;
  readonly init: Init;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export type ParamValues = (spec: ParamSpec) => Float32Array;

function initialValues(spec: ParamSpec, seed: number): Float32Array {
  const out = new Float32Array(sizeOf(spec.shape));
  const init = spec.init;
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'uniform':
      return Rng.derive(seed, spec.name).fillUniform(out, -init.bound, init.bound);
    case 'values':
      if (init.values.length !== out.length) {
        throw new Error(`parameter ${spec.name}: ${init.values.length} initial values for shape [${spec.shape}]`);
      }
      out.set(init.values);
      return out;
  }
}

export class Param {
  private variable: tf.Variable | null = null;
  constructor(readonly spec: ParamSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** The variable; throws when the store has not been materialised (e.g. a counting-only build). */
  get v(): tf.Variable {
    if (this.variable === null) throw new Error(`parameter ${this.spec.name} has not been materialised`);
    return this.variable;
  }

  /** @internal */
  bind(variable: tf.Variable): void {
    this.variable = variable;
  }
}

/** A tensor made when its store's parameters are, and disposed with them. */
export class Constant<T extends tf.Tensor> {
  private value: T | null = null;
  constructor(private readonly factory: () => T) {}

  get t(): T {
    if (this.value === null) throw new Error('constant used before its parameters were materialised');
    return this.value;
  }

  /** @internal */
  make(): void {
    this.value = tf.keep(this.factory());
  }

  /** @internal */
  dispose(): void {
    this.value?.dispose();
    this.value = null;
  }
}

export class ParamStore {
  private readonly params: Param[] = [];
  private readonly byName = new Map<string, Param>();
  private materialised = false;
  /**
   * Tensors a layer needs beside its parameters (index tables for kernels): made with the
   * variables and disposed with them, so a model holds every tensor it will use from the moment it
   * is built (what a cache of loaded models counts as held) and leaves none behind.
   */
  private readonly constants: Array<Constant<tf.Tensor>> = [];

  constant<T extends tf.Tensor>(make: () => T): Constant<T> {
    if (this.materialised) throw new Error('cannot declare a constant: parameters already materialised');
    const c = new Constant(make);
    this.constants.push(c);
    return c;
  }

  add(name: string, shape: readonly number[], init: Init, trainable = true): Param {
    if (this.materialised) throw new Error(`cannot declare ${name}: parameters already materialised`);
    if (this.byName.has(name)) throw new Error(`duplicate parameter name ${name}`);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`parameter ${name}: bad shape [${shape}]`);
    const p = new Param({ name, shape: [...shape], trainable, init });
    this.params.push(p);
    this.byName.set(name, p);
    return p;
  }

  /** Declaration order: the fixed order of serialisation and checkpoints. */
  get all(): readonly Param[] {
    return this.params;
  }

  get specs(): readonly ParamSpec[] {
    return this.params.map((p) => p.spec);
  }

  /** Creates every variable, from `seed` or from `values` (which must return exactly sized arrays). */
  materialise(source: { readonly seed: number } | { readonly values: ParamValues }): void {
    if (this.materialised) throw new Error('parameters already materialised');
    const created: tf.Variable[] = [];
    try {
      for (const p of this.params) {
        const data = 'seed' in source ? initialValues(p.spec, source.seed) : source.values(p.spec);
        if (data.length !== sizeOf(p.spec.shape)) {
          throw new Error(`parameter ${p.name}: got ${data.length} values for shape [${p.spec.shape}]`);
        }
        const initial = tf.tensor(data, [...p.spec.shape], 'float32');
        const v = tf.variable(initial, p.spec.trainable);
        initial.dispose(); // the variable holds its own reference to the data
        created.push(v);
        p.bind(v);
      }
    } catch (e) {
      for (const v of created) v.dispose();
      throw e;
    }
    for (const c of this.constants) c.make();
    this.materialised = true;
  }

  dispose(): void {
    if (!this.materialised) return;
    for (const c of this.constants) c.dispose();
    for (const p of this.params) p.v.dispose();
    this.materialised = false;
  }
}
