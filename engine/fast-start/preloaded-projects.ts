/**
 * Project modules compiled into a worker bundle (engine/fast-start/compiled-worker.ts), under the URL the
 * driver names them by. A compiled worker runs without tsx, so it could not import a TypeScript
 * project by its URL; it finds it here instead. Everywhere else this is a plain import().
 */
const modules = new Map<string, unknown>();

export function preloadProjectModule(url: string, namespace: unknown): void {
  modules.set(url, namespace);
}

/** True in a worker whose project was compiled in. */
export const isCompiledWorker = (): boolean => modules.size > 0;

export function importProjectModule(url: string): Promise<unknown> {
  return modules.has(url) ? Promise.resolve(modules.get(url)) : import(url);
}
