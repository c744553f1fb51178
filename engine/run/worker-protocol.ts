import type { ProgressEvent } from '../../contracts/progress.ts';
import type { Metrics } from '../core/stage.ts';
import type { ArtifactRef } from '../state/store.ts';

/** What the driver sends a worker process: everything needed to run one node, nothing more. */
export interface NodeTask {
  /** File URL of the module exporting the project (the worker imports it to find the stage). */
  readonly projectModule: string;
  readonly stage: string;
  readonly nodeId: string;
  readonly nodeKey: string;
  /**
   * The code digest in the node's key (the stage's closure plus the project's extra code), as the
   * driver computed it; runStage refuses to run the node with other code (engine/run/code-check.ts).
   */
  readonly codeDigest: string;
  /** Parameters already validated by the stage's schema in the driver. */
  readonly params: unknown;
  /** A path per input; a list of paths for list inputs; absent for unconnected optional inputs. */
  readonly inputs: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly scratchDir: string;
}

/**
 * What a worker reports back, in order: any number of events, then exactly one of done/failed/stale.
 * `retire` on `done`: the node left state behind (a live tensor, a global), so this worker must not
 * run another node. `stale`: the worker refused the node without running it because a source file
 * changed since it imported the code; a fresh worker must run it.
 */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'environment'; readonly facts: Readonly<Record<string, unknown>> }
  | { readonly type: 'series'; readonly name: string; readonly step: number; readonly values: Readonly<Record<string, unknown>> }
  | { readonly type: 'done'; readonly metrics: Metrics | undefined; readonly retire?: string }
  | { readonly type: 'failed'; readonly error: string; readonly stack: string | undefined }
  | { readonly type: 'stale'; readonly reason: string };

/** A persistent worker writes this to stdout and stderr after each node: the driver switches log files on it. */
export const END_OF_NODE = '\u0000robustfeat:end-of-node\u0000\n';

export type DriverMessage = { readonly type: 'run'; readonly task: NodeTask };

/** How an execution ended, as the executor saw it. */
export type ExecOutcome =
  | {
      readonly ok: true;
      readonly metrics: Metrics | undefined;
      /**
       * Outputs the worker already moved into the blob store itself (a job on another host); the
       * driver rehashes them before registering. Absent: the outputs wait in the task's paths.
       */
      readonly stored?: Readonly<Record<string, ArtifactRef>>;
      /** The worker's own timing, where the driver did not watch it all (a reattached job). */
      readonly durationS?: number;
      readonly environment?: Readonly<Record<string, unknown>>;
    }
  | {
      readonly ok: false;
      readonly error: string;
      readonly exitCode: number | null;
      readonly signal: string | null;
    };
