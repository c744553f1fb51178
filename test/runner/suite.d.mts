// Types of suite.mjs for the TypeScript tests that drive it (the runner itself is plain JavaScript,
// so that `npm test` starts without tsx).
export declare const COUNTS: readonly string[];
export declare function tapSummary(output: string): Record<string, number> | undefined;
export interface FileResult {
  file: string;
  output: string;
  code: number | null;
  signal: string | null;
  seconds: number;
  /** The file's TAP totals; undefined when it printed none. */
  counts: Record<string, number> | undefined;
  /** Killed, with its process group, after the file timeout. */
  timedOut: boolean;
  ok: boolean;
}
export interface SuiteResult {
  results: FileResult[];
  totals: Record<string, number>;
  failed: string[];
  interrupted: boolean;
  seconds: number;
}
export declare function runSuite(options: {
  cwd: string;
  files: string[];
  lanes: number;
  write: (text: string) => void;
  signal?: AbortSignal;
  /** Seconds a file may run before it is killed, with its process group, and fails (default 900). */
  fileTimeoutS?: number;
}): Promise<SuiteResult>;
