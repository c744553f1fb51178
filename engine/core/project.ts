import type { z } from 'zod';
import type { ExecutorSettings } from '../exec/slurm/config.ts';
import type { AnyStage, EstimateHints } from './stage.ts';

/** An edge: which output of which upstream node feeds an input. */
export interface NodeRef {
  readonly node: string;
  readonly output: string;
}

/** A stage applied to concrete parameters and inputs. */
export interface NodeSpec {
  /** Stable, readable, unique: `stage@variant`, e.g. `train@resnet18-alpha0.3-std`. */
  readonly id: string;
  readonly stage: AnyStage;
  /** The parameters this node reads: validated by the stage's schema, and part of the key. */
  readonly params: unknown;
  /** Where in params.yaml these parameters come from, for error messages (e.g. `q2.train`). */
  readonly paramsSource?: string;
  /** One upstream output per input; a list of them for inputs declared `many`. */
  readonly inputs?: Readonly<Record<string, NodeRef | readonly NodeRef[]>>;
  /** What the stage's cost estimate needs beyond params (e.g. `trainCount`); not part of the key. */
  readonly estimateHints?: EstimateHints;
}

/** The upstream refs of an input, as a list whatever its arity. */
export function refsOf(input: NodeRef | readonly NodeRef[] | undefined): readonly NodeRef[] {
  if (input === undefined) return [];
  return Array.isArray(input) ? input : [input as NodeRef];
}

export interface Graph {
  readonly nodes: readonly NodeSpec[];
  /** Named targets (`table1`, `fig3`, `all`): each lists the node ids it needs (ancestors are implied). */
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

/**
 * What the engine needs of a pipeline: its stages, the schema of one profile of params.yaml, and
 * how a validated profile expands into nodes. The robustfeat experiments are one project; the
 * engine's tests declare toy ones.
 */
/** Where the graph is being built for: relative inputs a profile names resolve against `root`. */
export interface BuildContext {
  /** The project folder (`--root`, where params.yaml lives), absolute. */
  readonly root: string;
}

export interface Project<Profile = unknown> {
  readonly name: string;
  /** `import.meta.url` of the module exporting this project as `project` (worker processes import it). */
  readonly module: string;
  readonly stages: readonly AnyStage[];
  readonly profileSchema: z.ZodType<Profile>;
  readonly defaultProfile: string;
  /** `overrides`: the `--set key=value` texts applied to this profile, so reports can state what actually ran. */
  build(profile: Profile, profileName: string, overrides?: readonly string[], context?: BuildContext): Graph;
  /**
   * Optional: loads what most nodes need (e.g. a tensor library), called when a worker process boots,
   * before its task arrives, so a spare worker is warm by the time it is used. Failures are ignored
   * here; the stage meets them again.
   */
  warmup?(): Promise<void>;
  /**
   * Optional, for persistent workers (each runs many nodes): a JSON-comparable snapshot of the
   * state a node could leave behind for the next (live tensors, variables, the active backend).
   * A worker takes it before and after each node and is replaced when the two differ.
   */
  workerState?(): Promise<Readonly<Record<string, unknown>>>;
  /**
   * Optional: called by a persistent worker before every node but its first, to drop what a fresh
   * process would not hold either (e.g. recycled buffer pools), so a node computes exactly what it
   * would in a process of its own.
   */
  resetWorker?(): Promise<void>;
  /**
   * Optional: files outside the import graph that compute a stage's results (e.g. native kernel
   * sources, loaded through `createRequire`), as paths relative to the code root. Given the files
   * of a stage's import closure, returns those whose content joins that stage's code digest (its
   * node keys), so editing them reruns exactly the stages that use them.
   */
  extraCode?(closureFiles: readonly string[]): readonly string[];
  /** Optional: how many nodes `repro` runs at once when --jobs is not given (default 1). */
  defaultJobs?(profile: Profile): number;
  /**
   * Optional: environment added to every worker process when `jobs` nodes run at once (e.g. a
   * per-process thread count, so parallel nodes do not oversubscribe the cores).
   */
  workerEnv?(jobs: number): Readonly<Record<string, string>>;
  /**
   * Optional: where nodes run unless --executor says otherwise, and the `slurm:` mapping, from the
   * validated profile (the project's schema includes `slurmSettingsSchema` for it).
   */
  executorSettings?(profile: Profile): ExecutorSettings;
  /**
   * Optional: what this run's nodes will execute on (e.g. the tensor backend), as one string. Plan
   * estimates are calibrated only by executions recorded under the same context.
   */
  estimateContext?(): string;
  /** Optional: lines `repro` prints first, before the plan (e.g. a warning that nodes will run slowly). */
  runBanner?(): string | undefined;
}
