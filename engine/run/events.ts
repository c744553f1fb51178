import type { ProgressEvent } from '../../contracts/progress.ts';
import type { LockHolder } from '../state/lock.ts';

/** Everything a `repro` run reports, for the terminal reporter and for tests. */
export type ReproEvent =
  | {
      readonly type: 'plan';
      readonly nodes: number;
      readonly targets: readonly string[];
      /** Estimated seconds per node id (calibrated where measured), for the whole run's ETA. */
      readonly estimates?: ReadonlyMap<string, number>;
      /** Nodes run at once. */
      readonly jobs?: number;
    }
  | { readonly type: 'cached'; readonly node: string; readonly key: string }
  | {
      readonly type: 'would-run';
      readonly node: string;
      readonly key: string | undefined;
      readonly reasons: readonly string[];
      readonly estimateSeconds: number | undefined;
      /** Present when measured executions of similar nodes calibrated the estimate. */
      readonly calibration?: { readonly samples: number; readonly basis: string };
    }
  /** `sameRun`: the holder is this very run, computing another node with the same key. */
  | { readonly type: 'waiting'; readonly node: string; readonly holder: LockHolder | undefined; readonly sameRun?: boolean }
  | { readonly type: 'start'; readonly node: string; readonly key: string; readonly reasons: readonly string[] }
  | { readonly type: 'progress'; readonly node: string; readonly event: ProgressEvent }
  | { readonly type: 'log'; readonly node: string; readonly message: string }
  | { readonly type: 'done'; readonly node: string; readonly key: string; readonly seconds: number }
  | { readonly type: 'failed'; readonly node: string; readonly error: string; readonly logFile: string | undefined }
  | { readonly type: 'skipped'; readonly node: string; readonly reason: string }
  | { readonly type: 'repaired'; readonly node: string; readonly message: string };

export type ReproListener = (e: ReproEvent) => void;
