/**
 * The one place that chooses the tfjs backend. Every model, attack and trainer uses the plain tfjs
 * API; this module decides which engine runs it and registers the project's own kernels there.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice, BackendInfo, BackendName } from './choice.ts';
import { registerBatchNormGrad } from './batch-norm-grad.ts';
import { registerBatchNormTrainGrad } from './batch-norm.ts';
import { registerGroupBatchNormGrads } from './group-batch-norm.ts';
import { registerBatchNormTrainReluGrad } from './batch-norm-relu.ts';
import { registerAddReluGrad } from './add-relu.ts';
import { registerReluGrad } from './relu-grad.ts';
import { registerBilinearSample } from './bilinear-sample.ts';
import { registerWrapRows } from './wrap-rows.ts';
import { registerP4MExpand } from './p4m-expand.ts';
import { registerRepeatRows } from './repeat-rows.ts';
import { registerClipGrad } from './clip-grad.ts';
import { registerSelectRows } from './select-rows.ts';
import { registerBatchNormEvalRelu } from './batch-norm-eval.ts';
import { registerClipNormalize } from './clip-normalize.ts';
import { registerWasmKernels } from './wasm-kernels.ts';
import { loadNativeAddon, nativeBuildHint, nativeKernelIsa } from './native/addon.ts';
import { registerNativeBackend } from './native/register.ts';

export type { BackendChoice, BackendInfo, BackendName } from './choice.ts';
export { BACKEND_CHOICES, parseBackendChoice } from './choice.ts';
export { batchNormTrain, type BatchNormTrainResult } from './batch-norm.ts';

export interface BackendOptions {
  /**
   * Threads for kernels that can use several (native). Default: $RF_THREADS, else
   * $OMP_NUM_THREADS, else all cores. On a machine shared with other busy processes, 1 thread
   * can be several times faster than 2 (OpenMP barriers wait for descheduled threads).
   */
  readonly threads?: number;
  /** Where the choice is reported; default stderr. */
  readonly log?: (line: string) => void;
}

/** Bumped whenever a project kernel changes what it computes. */
const PROJECT_KERNELS_VERSION = {
  wasm: 'wasm-kernels-1',
  // The project's kernels run composed from tfjs ops on webgpu (ml/backend/README.md says which).
  webgpu: 'none',
  native: 'native-kernels-1',
  cpu: 'none',
  tensorflow: 'none',
} as const;

const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const TENSORFLOW_INSTALL_HINT =
  'install it with `npm install --no-save @tensorflow/tfjs-node-gpu@4.22.0` (GPU, needs CUDA 11.2 + cuDNN 8.1) ' +
  'or `npm install --no-save @tensorflow/tfjs-node@4.22.0` (CPU)';

let current: BackendInfo | undefined;

function defaultThreads(): number {
  for (const name of ['RF_THREADS', 'OMP_NUM_THREADS']) {
    const v = process.env[name];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer; got ${JSON.stringify(v)}`);
    return n;
  }
  return availableParallelism();
}

/** The backend chosen by the last initBackend call, if any. */
export function currentBackendInfo(): BackendInfo | undefined {
  return current;
}

interface TensorflowModule {
  readonly version?: Record<string, string>;
}

async function tryImport(specifier: string): Promise<TensorflowModule | undefined> {
  try {
    return (await import(specifier)) as TensorflowModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function initTensorflow(choice: BackendChoice, threads: number): Promise<BackendInfo | undefined> {
  for (const pkg of TENSORFLOW_PACKAGES) {
    const mod = await tryImport(pkg);
    if (mod === undefined) continue;
    if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} is installed but its 'tensorflow' backend failed to start`);
    const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
    const versions = mod.version ?? {};
    return {
      name: 'tensorflow',
      choice,
      version: `${pkg} ${versions['tfjs-node'] ?? '?'}, libtensorflow ${versions['tf-core'] ?? tf.version_core}`,
      threads,
      gpu,
      projectKernels: PROJECT_KERNELS_VERSION.tensorflow,
    };
  }
  return undefined;
}

async function initNative(choice: BackendChoice, threads: number): Promise<BackendInfo | undefined> {
  const addon = loadNativeAddon();
  if (addon === undefined) return undefined;
  registerNativeBackend(addon);
  if (!(await tf.setBackend('native'))) throw new Error('the native backend is built but failed to start');
  addon.setNumThreads(threads);
  return {
    name: 'native',
    choice,
    version: `tfjs-core ${tf.version_core}, robustfeat-native ${addon.version()}, oneDNN ${addon.dnnlVersion()} (${nativeKernelIsa() ?? 'unknown'} kernels)`,
    threads: addon.getNumThreads(),
    gpu: false,
    projectKernels: PROJECT_KERNELS_VERSION.native,
  };
}

/**
 * tfjs-backend-webgpu on Dawn/Vulkan. Under `auto` (requireDiscrete) it starts only on a discrete
 * adapter and returns undefined, saying why, otherwise; asked for by name it takes any adapter,
 * llvmpipe included, and fails with the reason when there is none.
 */
async function initWebgpu(choice: BackendChoice, threads: number, log: (line: string) => void, requireDiscrete: boolean): Promise<BackendInfo | undefined> {
  const wgpu = await import('./webgpu.ts');
  if (requireDiscrete && !wgpu.gpuDeviceHint()) {
    const given = wgpu.gpusGivenToJob();
    if (given !== undefined)
      log(`backend: this job was given GPU ${given}, but no GPU device node is visible (/dev/nvidiactl, /dev/dri, /dev/kfd); computing on the CPU`);
    return undefined;
  }
  const { adapter, reason } = await wgpu.probeWebgpuAdapter();
  if (adapter === undefined) {
    if (requireDiscrete) {
      log(`backend: auto passes over webgpu: ${reason ?? 'no adapter'}`);
      return undefined;
    }
    throw new Error(`backend 'webgpu' cannot start: ${reason ?? 'no adapter'}`);
  }
  if (requireDiscrete && adapter.kind !== 'discrete') {
    log(`backend: auto passes over webgpu's ${wgpu.describeAdapter(adapter)}; ask for it with --backend webgpu`);
    return undefined;
  }
  await wgpu.loadWebgpuBackend();
  if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend failed to start on ${wgpu.describeAdapter(adapter)}`);
  return {
    name: 'webgpu',
    choice,
    version: `tfjs-core ${tf.version_core}, ${wgpu.webgpuVersions()}, ${wgpu.describeAdapter(adapter)}`,
    threads,
    gpu: adapter.kind !== 'software',
    projectKernels: PROJECT_KERNELS_VERSION.webgpu,
  };
}

async function initWasm(choice: BackendChoice): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    name: 'wasm',
    choice,
    version: `tfjs-core ${tf.version_core}, tfjs-backend-wasm ${wasm.version_wasm}${simd ? ' simd' : ''}`,
    // tfjs 4.22 disables the threaded wasm build under Node (flag WASM_HAS_MULTITHREAD_SUPPORT).
    threads: wasm.getThreadsCount(),
    gpu: false,
    projectKernels: PROJECT_KERNELS_VERSION.wasm,
  };
}

/** wasm, or the pure-JS cpu backend where WebAssembly cannot start (it trains, slowly). */
async function initWasmOrCpu(choice: BackendChoice): Promise<BackendInfo> {
  try {
    return await initWasm(choice);
  } catch (err) {
    process.stderr.write(`backend: wasm failed to start (${(err as Error).message}); using cpu\n`);
    return initCpu(choice);
  }
}

async function initCpu(choice: BackendChoice): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
  return { name: 'cpu', choice, version: `tfjs-core ${tf.version_core}`, threads: 1, gpu: false, projectKernels: PROJECT_KERNELS_VERSION.cpu };
}

/**
 * Chooses, starts and records the backend. `auto` takes TensorFlow (tfjs-node-gpu, else
 * tfjs-node) when installed, then webgpu on a discrete GPU adapter, then the native oneDNN backend when built, then wasm, then cpu.
 * Registration of project kernels happens here and is idempotent, so calling it again is cheap.
 */
export async function initBackend(choice: BackendChoice = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  const threads = options.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`initBackend: threads must be a positive integer; got ${threads}`);
  registerBatchNormGrad();
  registerBatchNormTrainGrad();
  registerGroupBatchNormGrads();
  registerBatchNormTrainReluGrad();
  registerAddReluGrad();
  registerReluGrad();
  registerBilinearSample();
  registerWrapRows();
  registerP4MExpand();
  registerRepeatRows();
  registerClipGrad();
  registerSelectRows();
  registerBatchNormEvalRelu();
  registerClipNormalize();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let info: BackendInfo | undefined;
  switch (choice) {
    case 'tensorflow':
      info = await initTensorflow(choice, threads);
      if (info === undefined) throw new Error(`backend 'tensorflow' needs @tensorflow/tfjs-node(-gpu), which is not installed: ${TENSORFLOW_INSTALL_HINT}`);
      break;
    case 'webgpu':
      info = await initWebgpu(choice, threads, log, false);
      if (info === undefined) throw new Error("backend 'webgpu' did not start");
      break;
    case 'native':
      info = await initNative(choice, threads);
      if (info === undefined) throw new Error(`backend 'native' is not built: ${nativeBuildHint()}`);
      break;
    case 'wasm':
      info = await initWasm(choice);
      break;
    case 'cpu':
      info = await initCpu(choice);
      break;
    case 'auto':
      info =
        (await initTensorflow(choice, threads)) ??
        (await initWebgpu(choice, threads, log, true)) ??
        (await initNative(choice, threads)) ??
        (await initWasmOrCpu(choice));
      break;
    default: {
      const never: never = choice;
      throw new Error(`initBackend: unknown backend choice ${JSON.stringify(never)}`);
    }
  }
  current = info;
  log(`backend: ${info.name}${info.gpu ? ' (GPU)' : ''} [${info.version}], ${info.threads} thread(s), asked '${choice}'`);
  return info;
}

/** The fastest available backend that can train (what tests and benchmarks use). */
export async function initFastestBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  return initBackend('auto', options);
}

/** Names of the backends that can be started here, fastest first (tensorflow only if installed). */
export async function availableBackends(): Promise<BackendName[]> {
  const names: BackendName[] = [];
  for (const pkg of TENSORFLOW_PACKAGES) {
    if ((await tryImport(pkg)) !== undefined) {
      names.push('tensorflow');
      break;
    }
  }
  if (loadNativeAddon() !== undefined) names.push('native');
  names.push('wasm', 'cpu');
  return names;
}
