/**
 * `robust.source: auto`: Ilyas et al.'s published D_R (built with a ResNet-50 at 1,000 steps,
 * worth far more to a CPU user than one inverted in an hour) when a copy is reachable, else D_R
 * built locally. Decided when the graph is built, so the plan and the reports say which.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROBUST_DATASETS, ROBUST_DATASETS_ENV as ROBUST_ENV } from '../ml/data/robust-datasets.ts';

const ROBUST_URL = ROBUST_DATASETS.url;

export interface RobustChoice {
  readonly source: 'fetch' | 'build';
  /** What `fetch` reads (a path or URL); absent for `build`. */
  readonly from?: string;
  /** One line for the reports. */
  readonly why: string;
}

/** Is `url` answering? A HEAD request in a child process, at most `timeoutMs`. */
export function urlReachable(url: string, timeoutMs = 4000): boolean {
  const script = `fetch(process.argv[1], { method: 'HEAD', signal: AbortSignal.timeout(${timeoutMs}) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const r = spawnSync(process.execPath, ['-e', script, url], { timeout: timeoutMs + 1000, stdio: 'ignore' });
  return r.status === 0;
}

/** How long a URL that did not answer is not asked again: every graph build (even a no-op or a dry run) would wait for it. */
export const UNREACHABLE_TTL_MS = 15 * 60_000;

/**
 * `urlReachable`, remembering for `UNREACHABLE_TTL_MS` the URLs that did not answer (in a small
 * file under the system's temporary folder), so that an offline machine pays the probe once per
 * quarter hour rather than at every command. Answers are not remembered: they lead to a fetch,
 * which caches what it downloads.
 */
export function cachedUrlReachable(url: string, opts: { file?: string; now?: () => number; probe?: (url: string) => boolean } = {}): boolean {
  const file = opts.file ?? join(tmpdir(), `robustfeat-unreachable-${process.getuid?.() ?? 'user'}.json`);
  const now = (opts.now ?? Date.now)();
  let seen: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') seen = parsed as Record<string, number>;
  } catch {
    // absent or unreadable: probe
  }
  const at = seen[url];
  if (typeof at === 'number' && now - at >= 0 && now - at < UNREACHABLE_TTL_MS) return false;
  const ok = (opts.probe ?? urlReachable)(url);
  if (ok) delete seen[url];
  else seen[url] = now;
  try {
    writeFileAtomic(file, JSON.stringify(seen));
  } catch {
    // a cache only: a read-only temporary folder costs a probe next time, nothing else
  }
  return ok;
}

export function chooseRobustSource(
  configured: string | null,
  root: string,
  opts: { env?: NodeJS.ProcessEnv; reachable?: (url: string) => boolean } = {},
): RobustChoice {
  const env = opts.env ?? process.env;
  // RF_OFFLINE=1: never probe a URL (offline machines, tests).
  const reachable = opts.reachable ?? ((u: string) => env.RF_OFFLINE !== '1' && cachedUrlReachable(u));
  const local = [configured, env[ROBUST_ENV], join(root, 'datasets.tar'), join(root, 'release_datasets')];
  for (const c of local) {
    if (c && !/^https?:\/\//i.test(c) && existsSync(c)) return { source: 'fetch', from: c, why: `Ilyas et al.'s published D_R, read from ${c}` };
  }
  for (const u of [configured, env[ROBUST_ENV], ROBUST_URL]) {
    if (u && /^https?:\/\//i.test(u) && reachable(u)) return { source: 'fetch', from: u, why: `Ilyas et al.'s published D_R, downloaded from ${u}` };
  }
  return {
    source: 'build',
    why: `D_R built locally (no published copy: set ${ROBUST_ENV} to datasets.tar or release_datasets/, or put datasets.tar in ${root}; ${ROBUST_URL} did not answer; asked again after ${UNREACHABLE_TTL_MS / 60_000} minutes)`,
  };
}
