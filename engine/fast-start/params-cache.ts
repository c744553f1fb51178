import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { parseParams, readParamsText, type ParamsFile } from '../plan/params.ts';
import { codeRoot, packageVersion } from '../core/source-digest.ts';

/**
 * params.yaml through a one-entry cache of its parsed form. Parsing the project's 11 KB file with
 * the yaml package takes about 60 ms in a fresh process, which every command paid, no-op `repro`
 * included; reading the cached JSON takes well under one. An entry is used only for the same
 * bytes parsed by the same code (engine/plan/params.ts and the yaml package's version are part of its
 * digest), holds only what JSON represents exactly, and is never written for a file that fails
 * to parse, so every error still comes from the parser, with its message.
 */

interface CacheEntry {
  readonly digest: string;
  readonly defaultProfile: string | null;
  readonly profiles: ParamsFile['profiles'];
}

let parserId: string | undefined;

/** What the parse depends on besides the text: this engine's parser and the yaml package's version. */
function parser(): string {
  parserId ??= createHash('sha256')
    .update(readFileSync(fileURLToPath(new URL('../plan/params.ts', import.meta.url))))
    .update(`\0yaml ${packageVersion(codeRoot(import.meta.url), 'yaml')}`)
    .digest('hex');
  return parserId;
}

/** True when JSON.parse(JSON.stringify(v)) gives v back exactly (no Infinity, NaN, -0, Date, Map, ...). */
export function jsonExact(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.keys(v).every((k) => k !== '__proto__' && jsonExact((v as Record<string, unknown>)[k]));
}

function readEntry(cacheFile: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(readFileSync(cacheFile, 'utf8')) as Partial<CacheEntry>;
    if (typeof e.digest !== 'string' || typeof e.profiles !== 'object' || e.profiles === null) return undefined;
    if (e.defaultProfile !== null && typeof e.defaultProfile !== 'string') return undefined;
    return e as CacheEntry;
  } catch {
    return undefined;
  }
}

function writeEntry(cacheFile: string, entry: CacheEntry): void {
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileAtomic(cacheFile, JSON.stringify(entry));
  } catch {
    // Only a cache: a read-only or full disk costs the next start a parse, nothing else.
  }
}

/** readParamsFile with the parsed form kept in `cacheFile` (one entry: the last file read). */
export function readParamsFileCached(path: string, cacheFile: string): ParamsFile {
  const text = readParamsText(path);
  const digest = createHash('sha256').update(parser()).update('\0').update(text).digest('hex');
  const hit = readEntry(cacheFile);
  if (hit !== undefined && hit.digest === digest) return { path, defaultProfile: hit.defaultProfile ?? undefined, profiles: hit.profiles };
  const file = parseParams(text, path);
  if (jsonExact(file.profiles)) writeEntry(cacheFile, { digest, defaultProfile: file.defaultProfile ?? null, profiles: file.profiles });
  return file;
}
