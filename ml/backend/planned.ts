/**
 * Which backend a run's nodes will start, decided in the driver without loading tfjs: plans are
 * estimated for it, and a fall back to wasm or cpu is announced before anything runs.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { BackendChoice, BackendName } from './choice.ts';
import { loadNativeAddon, nativeBuildHint } from './native/addon.ts';
import { adapterKind, gpuDeviceHint, type AdapterInfo } from './webgpu.ts';

const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * Training throughput of native over wasm and over cpu, measured on this project's 2-core machine
 * with `npx tsx bench/backend-slowdown.ts 0.125 16 2 1` (ResNet-18 width 0.125, batch 16, 2 train
 * steps, one thread, the three backends in one run): native 23.6 img/s, wasm 7.6 (3.09x), cpu
 * 0.05 (~520x). One round on a heavily shared machine (load average ~28), so the cpu figure is
 * rough; the order of magnitude is the point of the warning.
 */
export const MEASURED_SLOWDOWN: Readonly<Record<'wasm' | 'cpu', number>> = { wasm: 3.1, cpu: 500 };

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a node process's `auto` will find a discrete WebGPU adapter. Asked of a child process,
 * so that the driver never loads Dawn itself, and only where a GPU device node exists (the same
 * gate as initBackend's); once per driver process.
 */
let discreteWebgpu: boolean | undefined;
function discreteWebgpuAdapter(): boolean {
  if (discreteWebgpu !== undefined) return discreteWebgpu;
  discreteWebgpu = false;
  if (!gpuDeviceHint() || !installed('webgpu')) return false;
  const script =
    "import { create, globals } from 'webgpu'; Object.assign(globalThis, globals);" +
    "const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });" +
    'process.stdout.write(JSON.stringify(a === null ? null : { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device,' +
    ' description: a.info.description, isFallbackAdapter: a.info.isFallbackAdapter ?? a.isFallbackAdapter ?? false }));';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: new URL('.', import.meta.url).pathname,
  });
  try {
    const info = JSON.parse(r.stdout) as AdapterInfo | null;
    discreteWebgpu = info !== null && adapterKind(info) === 'discrete';
  } catch {
    discreteWebgpu = false;
  }
  return discreteWebgpu;
}

/** What initBackend(choice) will pick in a node process on this machine. */
export function plannedBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  if (TENSORFLOW_PACKAGES.some(installed)) return 'tensorflow';
  if (discreteWebgpuAdapter()) return 'webgpu';
  if (loadNativeAddon() !== undefined) return 'native';
  return 'wasm';
}

/** The loud lines a run on wasm or cpu starts with (undefined on a fast backend). */
export function slowBackendWarning(choice: BackendChoice, planned: BackendName = plannedBackend(choice)): string | undefined {
  if (planned !== 'wasm' && planned !== 'cpu') return undefined;
  const why = choice === 'auto' ? `the native oneDNN backend is not available: ${nativeBuildHint()}` : `--backend/RF_BACKEND/params.yaml asked for '${choice}'`;
  return [
    `WARNING: nodes will compute on the '${planned}' backend, about ${MEASURED_SLOWDOWN[planned]}x slower than native (training, measured on a 2-core machine).`,
    `  why: ${why}`,
    choice === 'auto'
      ? '  fix: `npm run setup` (installs g++ and libdnnl-dev with apt-get, as root or through sudo, and builds native/), then rerun'
      : '  fix: drop the backend override, or pass --backend native',
  ].join('\n');
}
