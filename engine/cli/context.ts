import type { CheckedGraph } from '../plan/graph.ts';
import type { Project } from '../core/project.ts';
import type { ReproSummary } from '../run/repro.ts';
import type { Workspace } from '../state/workspace.ts';
import type { GlobalOpts } from './load.ts';
import type { NodeRow, OutputRow } from '../state/db.ts';

/** Lines `show` adds about an artifact (e.g. a dataset's shape), given its file and producer. */
export type ArtifactDescriber = (path: string, output: OutputRow, node: NodeRow) => Promise<string[]>;

/** What a finished `repro` hands to the project (e.g. to publish reports and print a table). */
export interface ReproOutcome {
  readonly ws: Workspace;
  readonly graph: CheckedGraph;
  readonly profile: string;
  readonly targets: readonly string[];
  readonly summary: ReproSummary;
  /** The profile's effective parameters and the --set overrides that made them. */
  readonly params: unknown;
  readonly overrides: readonly string[];
}

/** What a project adds to the engine's verbs. */
export interface CliOptions {
  readonly describeArtifact?: ArtifactDescriber;
  /** Runs after a `repro` that was not a dry run, whatever its outcome. */
  readonly afterRepro?: (outcome: ReproOutcome) => Promise<void>;
}

/** What every verb's file is given to add its command. */
export interface VerbContext {
  readonly project: Project;
  readonly options: CliOptions;
  /** The program's options (`--root`, `--profile`, ...) as parsed. */
  readonly globals: () => GlobalOpts;
  readonly out: (s: string) => void;
}
