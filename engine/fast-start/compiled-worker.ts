import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshLaunchSpec } from './launcher.ts';
import { codeRoot } from '../core/source-digest.ts';

/**
 * Where the compiled workers of a project live (`npm run build`, engine/fast-start/bundle.ts
 * buildCompiledWorker): `dist/workers/` of the project's code root, named by kind and module URL.
 * One boots in about a fifth of a tsx worker's time (no TypeScript loader, V8's code cache), which a
 * local run pays once per worker, `--isolate` once per node and Slurm once per job.
 */
export type WorkerKind = 'local' | 'slurm';

/** The engine module each kind of compiled worker runs (relative to this folder). */
export const WORKER_MODULES: Readonly<Record<WorkerKind, string>> = { local: '../run/worker.ts', slurm: '../exec/slurm/worker.ts' };

export function compiledWorkerFiles(
  projectModule: string,
  kind: WorkerKind = 'local',
): { dir: string; name: string; launcher: string; spec: string; entry: string } {
  const root = codeRoot(projectModule);
  const dir = join(root, 'dist', 'workers');
  // Named by the module's place in the checkout, so that a copied checkout finds its own build.
  const inRoot = relative(root, fileURLToPath(projectModule)).split(sep).join('/');
  const name = `${kind === 'local' ? 'worker' : 'slurm-worker'}-${createHash('sha256').update(inRoot).digest('hex').slice(0, 16)}`;
  return { dir, name, launcher: join(dir, `${name}.mjs`), spec: join(dir, `${name}.launch.json`), entry: join(dir, `${name}.entry.ts`) };
}

/**
 * The compiled worker's launcher for this project, if one was built and none of its sources changed
 * since, and neither the caller (`allowed`) nor RF_COMPILED_WORKER=0 asks for the tsx worker.
 */
export function freshCompiledWorker(projectModule: string, kind: WorkerKind = 'local', allowed = true): string | undefined {
  if (!allowed || process.env['RF_COMPILED_WORKER'] === '0') return undefined;
  let files: ReturnType<typeof compiledWorkerFiles>;
  try {
    files = compiledWorkerFiles(projectModule, kind);
  } catch {
    return undefined;
  }
  return freshLaunchSpec(files.spec) !== undefined && existsSync(files.launcher) ? files.launcher : undefined;
}
