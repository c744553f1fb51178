import { existsSync } from 'node:fs';

/**
 * Where a Chromium for the browser tests is: $CHROMIUM_PATH, else Debian's `chromium` (what
 * .ci/run installs), else other usual places. Undefined means the browser tests skip, saying why (test/helpers/services.ts).
 */
export function findChromium(): string | undefined {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/snap/bin/chromium'];
  return candidates.find((p): p is string => typeof p === 'string' && p !== '' && existsSync(p));
}

/** Flags for a headless Chromium in CI: it runs as root there, where the sandbox cannot start. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
