import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it gives a value other than undefined or false (a probe that throws counts as
 * not yet), and fails naming `what` after `timeoutMs`.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs: number, pollMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = probe();
    } catch {
      v = undefined;
    }
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}
