import { hostname } from 'node:os';

/** Whether a process of this host still runs (signal 0 probes without touching it). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process `pid` of `host` still runs, where that can be known: a pid is meaningful only on
 * the host that issued it, so another host's process is 'unknown' (several hosts share the
 * artifacts folder on a cluster; treating it as dead would delete a live job's files).
 */
export function processState(host: string | undefined, pid: number): 'alive' | 'dead' | 'unknown' {
  if (host !== undefined && host !== hostname()) return 'unknown';
  return isAlive(pid) ? 'alive' : 'dead';
}
