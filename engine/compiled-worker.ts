import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { staleSource, type LaunchSpec } from './launcher.ts';
import { codeRoot } from './source-digest.ts';

/**
 * Where the compiled worker of a project lives (`npm run build`, engine/bundle.ts
 * buildCompiledWorker): `dist/workers/` of the project's code root, named by its module URL. It
 * boots in about a third of a tsx worker's time (no TypeScript loader, V8's code cache), which a
 * run pays once per worker, `--isolate` once per node.
 */
export function compiledWorkerFiles(projectModule: string): { dir: string; name: string; launcher: string; spec: string; entry: string } {
  const dir = join(codeRoot(projectModule), 'dist', 'workers');
  const name = `worker-${createHash('sha256').update(projectModule).digest('hex').slice(0, 16)}`;
  return { dir, name, launcher: join(dir, `${name}.mjs`), spec: join(dir, `${name}.launch.json`), entry: join(dir, `${name}.entry.ts`) };
}

/** The compiled worker's launcher for this project, if one was built and none of its sources changed since. */
export function freshCompiledWorker(projectModule: string): string | undefined {
  let files: ReturnType<typeof compiledWorkerFiles>;
  let spec: LaunchSpec;
  try {
    files = compiledWorkerFiles(projectModule);
    spec = JSON.parse(readFileSync(files.spec, 'utf8')) as LaunchSpec;
  } catch {
    return undefined;
  }
  return existsSync(files.launcher) && staleSource(spec.root, spec.manifest) === undefined ? files.launcher : undefined;
}
