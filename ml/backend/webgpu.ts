/**
 * tfjs' WebGPU backend on Dawn (the npm `webgpu` package, a prebuilt dawn.node) over Vulkan: the
 * GPU route whose every part installs from npm and Debian. Everything here is loaded lazily, on
 * the first call, so that the CLI and CPU-only runs never load the 21 MB Dawn library.
 *
 * WebGPU does not say whether an adapter is discrete, integrated or a CPU rasteriser (llvmpipe);
 * `adapterKind` decides it from what it does say (see there). `auto` starts webgpu only on a
 * discrete adapter; the others run only when asked for by name.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

/** What an adapter says about itself (GPUAdapterInfo), plus Dawn's fallback flag. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  /** The driver's own line, e.g. "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)" or "NVIDIA: 550.54.15 ...". */
  readonly description: string;
  readonly isFallbackAdapter: boolean;
}

export type AdapterKind = 'discrete' | 'integrated' | 'software';

/** A probed adapter, JSON-serialisable. */
export interface WebgpuAdapter extends AdapterInfo {
  readonly kind: AdapterKind;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;
/** Intel's discrete families as Dawn names their architectures. */
const INTEL_DISCRETE = /xe-hpg|xe-hpc|alchemist|battlemage|xe2-hpg/i;

/**
 * Software when Dawn says fallback or the adapter names a CPU rasteriser; discrete for NVIDIA
 * (except Tegra, which shares the CPU's memory), AMD other than the APUs' "Radeon Graphics" /
 * "Radeon Vega" parts, and Intel's Arc families; integrated otherwise. A heuristic because WebGPU
 * hides the adapter type; a misjudged adapter can always be asked for by name (`--backend webgpu`).
 */
export function adapterKind(info: AdapterInfo): AdapterKind {
  const all = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  if (info.isFallbackAdapter || SOFTWARE.test(info.architecture) || SOFTWARE.test(all)) return 'software';
  const vendor = info.vendor.toLowerCase();
  if (vendor === 'nvidia') return /tegra|orin|xavier/i.test(all) ? 'integrated' : 'discrete';
  if (vendor === 'amd' || vendor === 'ati') return /radeon(\(tm\))? (graphics|vega \d)|apu/i.test(all) ? 'integrated' : 'discrete';
  if (vendor === 'intel') return INTEL_DISCRETE.test(all) || /\barc\b/i.test(all) ? 'discrete' : 'integrated';
  return 'integrated';
}

/** One line naming the adapter and its driver, as recorded with every node. */
export function describeAdapter(a: WebgpuAdapter): string {
  const driver = a.description === '' ? 'driver unknown' : `driver "${a.description}"`;
  return `adapter ${a.vendor || '?'} ${a.device || a.architecture || '?'} (${a.kind}), ${driver}`;
}

/**
 * Whether this machine has a GPU device node at all (NVIDIA's, a DRM render node, AMD's KFD).
 * `auto` looks for an adapter only then: without one, Vulkan can offer only a software rasteriser,
 * which `auto` would not take anyway, and loading Dawn to learn that costs a third of a second.
 */
export function gpuDeviceHint(): boolean {
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/kfd')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** The GPUs a scheduler gave this job (Slurm's variables, else CUDA_VISIBLE_DEVICES), if any. */
export function gpusGivenToJob(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of ['SLURM_STEP_GPUS', 'SLURM_JOB_GPUS', 'CUDA_VISIBLE_DEVICES']) {
    const v = env[name];
    if (v !== undefined && v !== '' && v !== 'NoDevFiles') return `${name}=${v}`;
  }
  return undefined;
}

interface GpuAdapterLike {
  readonly info: Partial<AdapterInfo>;
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}
interface WebgpuModule {
  create(flags: string[]): GpuLike;
  globals: object;
}

let gpu: GpuLike | undefined;
let loadError: string | undefined;

/**
 * Dawn's GPU object, installed as `navigator.gpu` (Node 20 has no navigator; 21+ has one without
 * `gpu`), with the WebGPU classes on globalThis, as tfjs-backend-webgpu expects in a browser.
 * Undefined, with `webgpuUnavailableReason()` saying why, where the package or its library cannot load.
 */
async function navigatorGpu(): Promise<GpuLike | undefined> {
  if (gpu !== undefined || loadError !== undefined) return gpu;
  try {
    const mod = (await import('webgpu')) as unknown as WebgpuModule;
    Object.assign(globalThis, mod.globals);
    const created = mod.create([]);
    const g = globalThis as { navigator?: { gpu?: GpuLike } };
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: created }, configurable: true, writable: true });
    else if (g.navigator.gpu === undefined) Object.defineProperty(g.navigator, 'gpu', { value: created, configurable: true });
    gpu = created;
  } catch (err) {
    loadError = `the webgpu package (Dawn) did not load: ${(err as Error).message}`;
  }
  return gpu;
}

export function webgpuUnavailableReason(): string | undefined {
  return loadError;
}

/**
 * The adapter tfjs-backend-webgpu will take (it asks for 'high-performance'), or undefined with a
 * reason (no Vulkan loader, no driver, Dawn refusing the driver).
 */
export async function probeWebgpuAdapter(): Promise<{ adapter?: WebgpuAdapter; reason?: string }> {
  const g = await navigatorGpu();
  if (g === undefined) return { reason: loadError ?? 'webgpu did not load' };
  const a = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (a === null) {
    return { reason: 'Dawn found no usable Vulkan adapter (is libvulkan1 installed, with a Vulkan driver: NVIDIA/AMD/Intel, or Mesa >= 25 for llvmpipe?)' };
  }
  const i = a.info;
  const info: AdapterInfo = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter ?? false,
  };
  return { adapter: { ...info, kind: adapterKind(info) } };
}

/** Package versions of the WebGPU route, e.g. "tfjs-backend-webgpu 4.22.0, webgpu (Dawn) 0.6.2". */
export function webgpuVersions(): string {
  const require = createRequire(import.meta.url);
  const version = (pkg: string): string => {
    try {
      return (require(`${pkg}/package.json`) as { version?: string }).version ?? '?';
    } catch {
      return '?';
    }
  };
  return `tfjs-backend-webgpu ${version('@tensorflow/tfjs-backend-webgpu')}, webgpu (Dawn) ${version('webgpu')}`;
}

/** Registers tfjs' webgpu backend (its module registers itself when navigator.gpu exists). */
export async function loadWebgpuBackend(): Promise<void> {
  if ((await navigatorGpu()) === undefined) throw new Error(loadError ?? 'webgpu did not load');
  await import('@tensorflow/tfjs-backend-webgpu');
}
