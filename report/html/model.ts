/**
 * What the HTML report shows, as plain data: the report nodes' files, the provenance of every node
 * behind them (from the lineage database) and the recent runs. collect.ts fills it from a
 * workspace; page.ts renders it without touching the disk, so tests can render hand-made models.
 */

/** One file of a report node's `report` folder (text for .md/.csv/.svg/.txt, bytes otherwise). */
export interface ReportFile {
  readonly name: string;
  readonly content: string | Uint8Array;
}

/** A node whose stage declares a `report` folder output (tables, figures, any later kind). */
export interface ReportNodeView {
  readonly id: string;
  readonly key: string;
  readonly stage: string;
  /** The target group it belongs to (table1, fig3, truth, …), for the page's navigation. */
  readonly group: string | undefined;
  readonly files: readonly ReportFile[];
}

export interface InputView {
  readonly input: string;
  readonly fromKey: string;
  readonly fromNodeId: string;
  readonly fromOutput: string;
  readonly digest: string;
}

export interface OutputView {
  readonly name: string;
  readonly kind: string;
  readonly digest: string;
  readonly size: number;
}

export interface ExecutionView {
  readonly id: number;
  readonly runId: number;
  readonly status: string;
  readonly startedAt: string;
  readonly durationS: number | null;
  readonly host: string | null;
  /** What the worker reported about where it ran (tensor backend, threads), as recorded. */
  readonly environment: unknown;
  readonly metrics: unknown;
}

export interface SeriesPoint {
  readonly step: number;
  readonly values: Readonly<Record<string, unknown>>;
}

/** A registered node as the lineage database knows it. */
export interface ProvenanceNode {
  readonly key: string;
  readonly nodeId: string;
  readonly stage: string;
  readonly stageVersion: number;
  readonly codeDigest: string;
  readonly params: unknown;
  readonly registeredAt: string;
  readonly inputs: readonly InputView[];
  readonly outputs: readonly OutputView[];
  readonly execution: ExecutionView | undefined;
  /** Series by name (e.g. `epoch`: loss and accuracy per epoch of a training run). */
  readonly series: Readonly<Record<string, readonly SeriesPoint[]>>;
}

export interface RunExecutionView {
  readonly nodeId: string;
  readonly key: string;
  readonly status: string;
  readonly durationS: number | null;
  readonly host: string | null;
  readonly backend: string | undefined;
  readonly error: string | undefined;
}

export interface RunView {
  readonly id: number;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly command: string;
  readonly profile: string | null;
  readonly status: string;
  readonly host: string | null;
  readonly executions: readonly RunExecutionView[];
}

export interface PageModel {
  readonly title: string;
  readonly profile: { readonly name: string; readonly params: unknown; readonly overrides: readonly string[] };
  /** When the page was assembled (the driver assembles it after a run; it is not a cached node). */
  readonly generatedAt: string;
  readonly reports: readonly ReportNodeView[];
  /** Report nodes of the graph that are not up to date (never run, or inputs changed since). */
  readonly missing: readonly string[];
  /** Every node behind the reports, by key. */
  readonly nodes: ReadonlyMap<string, ProvenanceNode>;
  /** Recent runs of this profile that executed something, newest first. */
  readonly runs: readonly RunView[];
}

/** The page anchor of a node's provenance (keys are hex; 16 digits are unique in practice). */
export const nodeAnchor = (key: string): string => `k-${key.slice(0, 16)}`;

/** A page anchor from any readable name (node ids hold @, *, dots). */
export const anchorOf = (prefix: string, name: string): string => `${prefix}-${name.replace(/[^A-Za-z0-9_-]+/g, '_')}`;

/** A short description of the recorded backend of an execution, e.g. "native (oneDNN 2.6.3), 1 thread". */
export function backendOf(environment: unknown): string | undefined {
  if (typeof environment !== 'object' || environment === null) return undefined;
  const b = (environment as { backend?: unknown }).backend;
  if (typeof b !== 'object' || b === null) return undefined;
  const { name, version, threads, gpu } = b as { name?: unknown; version?: unknown; threads?: unknown; gpu?: unknown };
  if (typeof name !== 'string') return undefined;
  const parts = [name];
  if (typeof version === 'string') parts.push(`(${version})`);
  if (typeof threads === 'number') parts.push(`${threads} thread${threads === 1 ? '' : 's'}`);
  if (gpu === true) parts.push('GPU');
  return parts.join(' ');
}
