/**
 * How stages pick their backend: the driver turns `--backend` (or params.yaml's `backend`) into
 * RF_BACKEND, which every node process inherits. The backend is recorded with each execution but
 * is not part of node keys: a result computed on another backend is reused unless the user forces
 * a rerun.
 */
import { BACKEND_ENV } from './choice.ts';
import { initBackend, parseBackendChoice, type BackendInfo } from './index.ts';

export async function initBackendFromEnv(log?: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<BackendInfo> {
  const choice = parseBackendChoice(env[BACKEND_ENV] ?? 'auto', BACKEND_ENV);
  return initBackend(choice, log ? { log } : {});
}
