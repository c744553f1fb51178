import { loadNativeAddon, nativeBuildHint } from '../../ml/backend/native/addon.ts';
import { findFont, FONT_HINT } from '../../report/fonts.ts';
import { findChromium } from './chromium.ts';

/**
 * The real services some tests need. Outside CI a test whose service is missing skips and prints
 * why; under CI (`.ci/run` lists what it installs and starts in RF_REQUIRED_SERVICES, and
 * `CI=true` alone requires them all) the test file fails instead, naming the service, so a failed
 * install can never turn into a green run with those tests silently skipped.
 */
export const SERVICES = ['native', 'slurm', 'chromium', 'font', 'vulkan'] as const;
export type Service = (typeof SERVICES)[number];

/** The services this run must have, from the environment. */
export function requiredServices(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> {
  const listed = env['RF_REQUIRED_SERVICES'];
  if (listed !== undefined) return new Set(listed.split(/[\s,]+/).filter(Boolean));
  return new Set(env['CI'] === 'true' ? SERVICES : []);
}

export class MissingServiceError extends Error {
  constructor(service: Service, reason: string) {
    super(`service '${service}' is required in this run (RF_REQUIRED_SERVICES / CI) but missing: ${reason}`);
    this.name = 'MissingServiceError';
  }
}

/**
 * `false` when the service is there; otherwise the reason, printed once, for `test(…, { skip })`;
 * throws MissingServiceError where the run requires the service.
 */
export function serviceSkip(service: Service, missing: string | undefined, env: NodeJS.ProcessEnv = process.env): string | false {
  if (missing === undefined) return false;
  if (requiredServices(env).has(service)) throw new MissingServiceError(service, missing);
  process.stdout.write(`# skipping tests that need ${service}: ${missing}\n`);
  return missing;
}

/** Why the native backend cannot load here, if it cannot. */
export const nativeMissing = (): string | undefined => (loadNativeAddon() === undefined ? `native backend absent: ${nativeBuildHint()}` : undefined);

export const nativeSkip = (): string | false => serviceSkip('native', nativeMissing());

export const chromiumSkip = (): string | false =>
  serviceSkip('chromium', findChromium() === undefined ? 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)' : undefined);

export const fontSkip = (): string | false => serviceSkip('font', findFont() === undefined ? `${FONT_HINT} (apt-get install -y fonts-dejavu-core)` : undefined);
