/**
 * The environment variable that carries the driver's backend choice to every node process. Here,
 * not in from-env.ts, so that the driver can name it without loading tfjs.
 */
export const BACKEND_ENV = 'RF_BACKEND';

/** Which tfjs backend runs the numbers; `auto` takes the fastest one that is available. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** Validates a user-supplied choice (CLI flag or params.yaml); `where` names its source in errors. */
export function parseBackendChoice(value: unknown, where: string): BackendChoice {
  if (typeof value === 'string' && (BACKEND_CHOICES as readonly string[]).includes(value)) {
    return value as BackendChoice;
  }
  throw new Error(`${where}: backend must be one of ${BACKEND_CHOICES.join(', ')}; got ${JSON.stringify(value)}`);
}

/**
 * What is recorded with every node: enough to tell which engine produced a number.
 * JSON-serialisable by construction.
 */
export interface BackendInfo {
  /** The tfjs backend name that runs the kernels. */
  readonly name: BackendName;
  /** What the user asked for. */
  readonly choice: BackendChoice;
  /**
   * Versions of the packages and libraries that compute, e.g. "tfjs-core 4.22.0, oneDNN 2.6.3";
   * on webgpu also the adapter and its driver.
   */
  readonly version: string;
  /** Worker threads the kernels use. */
  readonly threads: number;
  /** True when kernels run on a GPU. */
  readonly gpu: boolean;
  /** Version of this project's kernel set on that backend (changes when our kernels change). */
  readonly projectKernels: string;
}
