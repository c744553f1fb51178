/**
 * Writes a profile's page, reports/<profile>/index.html. The driver assembles the page after a run (and on `report`) instead
 * of a cached node computing it: the page shows provenance (timings, hosts, backends, the run log)
 * that is recorded in SQLite and is not a function of any node key, so a cached node holding it
 * would either be stale or need a key that changes with every run.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256 } from '../../engine/core/canonical-json.ts';
import { codeRoot, sourceClosure } from '../../engine/core/source-digest.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { collectPage, type CollectOptions } from './collect.ts';
import { loadMarkdownRenderer } from './markdown.ts';
import type { PageModel } from './model.ts';
import { PAGE_FINGERPRINT, renderReportPage } from './page.ts';
import { profileReportsDir } from '../reports-dir.ts';

export interface WrittenPage {
  readonly path: string;
  readonly profile: string;
  /** The page on disk already showed this model, rendered by this code: it was left as it was. */
  readonly unchanged: boolean;
  readonly reports: number;
  readonly nodes: number;
  readonly missing: readonly string[];
}

let renderer: string | undefined;

/** The digest of the renderer's code (page.ts and everything it imports, with package versions). */
function rendererDigest(): string {
  renderer ??= sourceClosure(new URL('./page.ts', import.meta.url).href, codeRoot(import.meta.url)).digest;
  return renderer;
}

/**
 * What the page shows, as a digest: the model without its assembly time, and the renderer's code.
 * A no-op `repro` collects the same model (runs that executed nothing are not shown), so its page
 * is the one already on disk and need not be rendered again (most of a no-op's time otherwise).
 */
export function pageFingerprint(model: PageModel): string {
  const plain = JSON.stringify({ ...model, generatedAt: undefined }, (_k, v: unknown) => {
    if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()];
    if (v instanceof Uint8Array) return { sha256: sha256(v) };
    return v;
  });
  return sha256(`${rendererDigest()}\n${plain}`);
}

/** The fingerprint recorded in the head of the page at `file`, if there is one. */
export function recordedFingerprint(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(2048);
    const n = readSync(fd, head, 0, head.length, 0);
    const m = new RegExp(`<meta name="${PAGE_FINGERPRINT}" content="([0-9a-f]{64})">`).exec(head.subarray(0, n).toString('latin1'));
    return m?.[1];
  } finally {
    closeSync(fd);
  }
}

/** Where a profile's page goes unless `--out` says otherwise. */
export const defaultPagePath = (root: string, profile: string): string => join(profileReportsDir(root, profile), 'index.html');

/**
 * Without `file` the page goes to its profile's folder under reports/ and links up to the index of
 * every profile (a page written elsewhere with --out has no such neighbour).
 */
export async function writeHtmlReport(o: CollectOptions, file?: string): Promise<WrittenPage> {
  const path = file ?? defaultPagePath(o.ws.root, o.profile);
  const model = await collectPage(o);
  const fingerprint = pageFingerprint(model);
  const unchanged = recordedFingerprint(path) === fingerprint;
  if (!unchanged) {
    await loadMarkdownRenderer();
    // In the profile's folder, the tables and figures the page shows sit beside it (as `repro`
    // publishes them), so the folder is whole even where no run of this checkout published them.
    if (file === undefined)
      for (const r of model.reports) for (const f of r.files) if (!f.name.endsWith('.txt')) writeFileAtomic(join(dirname(path), f.name), f.content);
    writeFileAtomic(path, renderReportPage(model, fingerprint, file === undefined ? { allProfiles: '../index.html' } : {}));
  }
  return { path, profile: o.profile, unchanged, reports: model.reports.length, nodes: model.nodes.size, missing: model.missing };
}
