import type { z } from 'zod';
import type { ProgressSink } from '../../contracts/progress.ts';

/**
 * A stage is declared once: its name and version, the schema of the parameters it reads, the
 * artifacts it takes and produces, and the function that computes them. The engine derives node
 * keys from exactly these declarations, so nothing a stage uses can change unnoticed.
 */

export type ArtifactKind = 'file' | 'dir';

export interface InputDecl {
  readonly kind: ArtifactKind;
  /** An optional input may be left unconnected by a node; its path is then undefined. */
  readonly optional?: boolean;
  /** A list input takes any number of artifacts (e.g. every evaluation a table aggregates). */
  readonly many?: boolean;
  readonly description?: string;
}

export interface OutputDecl {
  readonly kind: ArtifactKind;
  readonly description?: string;
}

export type InputDecls = Readonly<Record<string, InputDecl>>;
export type OutputDecls = Readonly<Record<string, OutputDecl>>;

export type InputPaths<I extends InputDecls> = {
  readonly [K in keyof I]: I[K] extends { readonly many: true } ? readonly string[] : I[K] extends { readonly optional: true } ? string | undefined : string;
};
export type OutputPaths<O extends OutputDecls> = { readonly [K in keyof O]: string };

/** Facts a node's cost depends on that are not among its parameters (NodeSpec.estimateHints). */
export type EstimateHints = Readonly<Record<string, number | string>>;

/** JSON-serialisable metric values recorded with a node execution in SQLite. */
export type Metrics = Readonly<Record<string, unknown>>;

export interface StageContext<P, I extends InputDecls, O extends OutputDecls> {
  readonly params: P;
  /** Absolute paths of the input artifacts (read-only: a file, or a folder for 'dir' inputs). */
  readonly inputs: InputPaths<I>;
  /** Where each output must be written (a file path, or a folder to fill for 'dir' outputs). */
  readonly outputs: OutputPaths<O>;
  /** A folder that survives an interrupted attempt of this very node (checkpoints for resume). */
  readonly scratchDir: string;
  readonly nodeId: string;
  readonly nodeKey: string;
  readonly progress: ProgressSink;
  log(message: string): void;
  /** Facts about where the node ran (tensor backend, threads), recorded with the execution. */
  environment(facts: Readonly<Record<string, unknown>>): void;
  /** One point of a named series (per-epoch loss, per-snapshot accuracy), recorded in SQLite. */
  series(name: string, step: number, values: Readonly<Record<string, unknown>>): void;
}

export interface StageResult {
  readonly metrics?: Metrics;
}

export interface StageDef<P = unknown, I extends InputDecls = InputDecls, O extends OutputDecls = OutputDecls> {
  readonly name: string;
  /** Bump to invalidate every result of this stage without a code change (e.g. a fixed data bug). */
  readonly version: number;
  /** `import.meta.url` of the declaring module: its import closure is part of every node key. */
  readonly module: string;
  readonly description: string;
  readonly params: z.ZodType<P>;
  readonly inputs: I;
  readonly outputs: O;
  /**
   * Rough wall time in seconds for a node with these params on a 2-core CPU, for --dry-run plans
   * and the run's ETA. `hints` are the node's estimateHints (facts its cost depends on that are not
   * parameters, such as the size of an input dataset). Measured executions calibrate it: see
   * `similarity` and engine/plan/estimates.ts.
   */
  readonly estimateSeconds?: (params: P, hints: EstimateHints) => number;
  /**
   * Keys, most specific first, naming which past executions of this stage cost like this node
   * (e.g. same architecture and width; then same architecture). The engine scales the formula by
   * the measured/estimated ratio of the most specific key that has measurements on the same
   * estimate context (e.g. backend). Without it, only executions with identical params calibrate.
   */
  readonly similarity?: (params: P, hints: EstimateHints) => readonly string[];
  run(ctx: StageContext<P, I, O>): Promise<StageResult | void>;
}

/** A stage's context as the engine builds it, before the stage's own types apply. */
export type AnyStageContext = Omit<StageContext<unknown, InputDecls, OutputDecls>, 'inputs'> & {
  /** A path per input; a list of paths for list inputs; absent for unconnected optional inputs. */
  readonly inputs: Readonly<Record<string, string | readonly string[] | undefined>>;
};

/**
 * A stage with its types erased, as the engine handles them in bulk: parameters are `unknown` to
 * the engine, which only ever passes a stage parameters its own schema validated (checkGraph).
 * defineStage builds it, so the engine calls a stage without casting at every call.
 */
export interface AnyStage {
  readonly name: string;
  readonly version: number;
  readonly module: string;
  readonly description: string;
  readonly params: z.ZodType<unknown>;
  readonly inputs: InputDecls;
  readonly outputs: OutputDecls;
  readonly estimateSeconds?: (params: unknown, hints: EstimateHints) => number;
  readonly similarity?: (params: unknown, hints: EstimateHints) => readonly string[];
  run(ctx: AnyStageContext): Promise<StageResult | void>;
}

const NAME = /^[a-z][a-z0-9-]*$/;

export function defineStage<P, const I extends InputDecls, const O extends OutputDecls>(def: StageDef<P, I, O>): StageDef<P, I, O> & AnyStage {
  if (!NAME.test(def.name)) throw new Error(`stage name '${def.name}' must match ${NAME}`);
  if (!Number.isInteger(def.version) || def.version < 1) throw new Error(`stage ${def.name}: version must be a positive integer`);
  for (const name of [...Object.keys(def.inputs), ...Object.keys(def.outputs)]) {
    if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(name)) throw new Error(`stage ${def.name}: bad artifact name '${name}'`);
  }
  // The one place a stage's types are erased and restored: the engine hands these functions only
  // parameters that `def.params` validated, and inputs and outputs laid out as `def` declares them.
  const typed = (params: unknown): P => params as P;
  const { estimateSeconds, similarity, run, ...declared } = def;
  return {
    ...declared,
    ...(estimateSeconds ? { estimateSeconds: (params: unknown, hints: EstimateHints) => estimateSeconds(typed(params), hints) } : {}),
    ...(similarity ? { similarity: (params: unknown, hints: EstimateHints) => similarity(typed(params), hints) } : {}),
    run: (ctx: AnyStageContext) => run.call(def, ctx as StageContext<P, I, O>),
  };
}
