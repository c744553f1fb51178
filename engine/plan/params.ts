import { didYouMean } from '../core/suggest.ts';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { UserError } from '../core/result.ts';

/**
 * params.yaml holds named profiles; a profile may `extends:` another (deep merge: mappings merge,
 * lists and scalars replace). `--set a.b=value` overrides one key of the chosen profile for one run.
 * Every error names the file and the dotted path of the offending key, and nothing runs until the
 * whole profile validates.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface ParamsFile {
  readonly path: string;
  readonly defaultProfile: string | undefined;
  readonly profiles: Readonly<Record<string, JsonObject>>;
}

export interface ResolvedProfile<P> {
  readonly name: string;
  readonly params: P;
  /** The merged raw profile before validation, for `show` and dry-run diffs. */
  readonly raw: JsonObject;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readParamsText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

export function readParamsFile(path: string): ParamsFile {
  return parseParams(readParamsText(path), path);
}

export function parseParams(text: string, path = 'params.yaml'): ParamsFile {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new UserError(`${path}: YAML syntax error: ${first.message}`);
  }
  const data: unknown = doc.toJS();
  if (!isObject(data)) throw new UserError(`${path}: expected a mapping with 'profiles' at the top level`);
  for (const key of Object.keys(data)) {
    if (key !== 'profiles' && key !== 'default_profile') {
      throw new UserError(`${path}: unknown top-level key '${key}' (expected 'profiles' and optionally 'default_profile')`);
    }
  }
  const profiles = data['profiles'];
  if (!isObject(profiles) || Object.keys(profiles).length === 0) {
    throw new UserError(`${path}: 'profiles' must be a mapping of profile names to settings`);
  }
  for (const [name, body] of Object.entries(profiles)) {
    if (!isObject(body)) throw new UserError(`${path}: profiles.${name} must be a mapping`);
  }
  const def = data['default_profile'];
  if (def !== undefined && (typeof def !== 'string' || !(def in profiles))) {
    throw new UserError(`${path}: default_profile '${String(def)}' is not one of the profiles (${Object.keys(profiles).join(', ')})`);
  }
  return { path, defaultProfile: def as string | undefined, profiles: profiles as Record<string, JsonObject> };
}

function merge(base: Json, over: Json): Json {
  if (isObject(base) && isObject(over)) {
    const out: JsonObject = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k]!, v) : v;
    return out;
  }
  return over;
}

/** The profile chain from the root ancestor down to `name`. */
function chain(file: ParamsFile, name: string): string[] {
  const seen: string[] = [];
  let cur: string | undefined = name;
  while (cur !== undefined) {
    if (seen.includes(cur)) throw new UserError(`${file.path}: profile inheritance cycle: ${[...seen, cur].join(' -> ')}`);
    const body: JsonObject | undefined = file.profiles[cur];
    if (body === undefined) {
      const from = seen.length ? ` (extended by profiles.${seen[seen.length - 1]})` : '';
      throw new UserError(`${file.path}: unknown profile '${cur}'${from}; known: ${Object.keys(file.profiles).join(', ')}`);
    }
    seen.push(cur);
    const ext: Json | undefined = body['extends'];
    if (ext !== undefined && typeof ext !== 'string') throw new UserError(`${file.path}: profiles.${cur}.extends must be a profile name`);
    cur = ext;
  }
  return seen.reverse();
}

export interface Override {
  readonly path: readonly string[];
  readonly value: Json;
  readonly text: string;
}

/** Parses `a.b.c=value`; the value is YAML (`0.1`, `[0, 0.5]`, `true`, `resnet18`). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects key=value, got '${text}'`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => p === '')) throw new UserError(`--set: malformed key '${key}'`);
  let value: Json;
  try {
    value = YAML.parse(text.slice(eq + 1)) as Json;
  } catch (e) {
    throw new UserError(`--set ${key}: value is not valid YAML: ${(e as Error).message}`);
  }
  return { path, value: value ?? null, text };
}

function applyOverride(profile: JsonObject, o: Override, where: string): void {
  let cur: JsonObject = profile;
  for (let i = 0; i < o.path.length - 1; i++) {
    const k = o.path[i]!;
    const next = cur[k];
    if (next === undefined) {
      cur[k] = {};
    } else if (!isObject(next)) {
      throw new UserError(`--set ${o.text}: ${where}.${o.path.slice(0, i + 1).join('.')} is not a mapping`);
    }
    cur = cur[k] as JsonObject;
  }
  cur[o.path[o.path.length - 1]!] = o.value;
}

function has(obj: Json | undefined, path: readonly (string | number)[]): boolean {
  let cur: Json | undefined = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return false;
    cur = (cur as Record<string, Json>)[String(k)];
    if (cur === undefined) return false;
  }
  return true;
}

export function resolveProfile<P>(file: ParamsFile, name: string, schema: z.ZodType<P>, overrides: readonly Override[] = []): ResolvedProfile<P> {
  const names = chain(file, name);
  let merged: Json = {};
  for (const n of names) merged = merge(merged, file.profiles[n]!);
  // A private copy: merge() shares nested mappings with the parsed file, and --set must not write
  // into the file's other profiles.
  const raw = structuredClone(merged) as JsonObject;
  delete raw['extends'];
  for (const o of overrides) applyOverride(raw, o, `profiles.${name}`);

  // Without zod's compiled fast path: it generates and compiles a parser per object schema on the
  // first parse, which costs a process that validates one profile once more than it saves.
  const parsed = schema.safeParse(raw, { jitless: true });
  if (!parsed.success) throw profileError(file, name, names, raw, overrides, parsed.error.issues, `invalid profile '${name}'`);
  // A profile this one extends is read only where this one does not replace it (a list is replaced
  // whole), so a misspelt key there would pass unseen until someone runs that profile. Its unknown
  // keys are refused here too; its missing or ill-typed values are not (a base may be partial).
  let base: Json = {};
  for (let i = 0; i < names.length - 1; i++) {
    const own = names.slice(0, i + 1);
    base = merge(base, file.profiles[names[i]!]!);
    const baseRaw = structuredClone(base) as JsonObject;
    delete baseRaw['extends'];
    const check = schema.safeParse(baseRaw, { jitless: true });
    const unknown = check.success ? [] : check.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    if (unknown.length > 0) throw profileError(file, own.at(-1)!, own, baseRaw, [], unknown, `invalid profile '${own.at(-1)}' (extended by '${name}')`);
  }
  return { name, params: parsed.data, raw };
}

function profileError(
  file: ParamsFile,
  name: string,
  names: readonly string[],
  raw: JsonObject,
  overrides: readonly Override[],
  issues: readonly z.core.$ZodIssue[],
  header: string,
): UserError {
  const lines = issues.slice(0, 8).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? ((issue as { keys?: string[] }).keys ?? []) : [];
    const paths = keys.length > 0 ? keys.map((k) => [...issue.path, k]) : [issue.path];
    return paths
      .map((p) => {
        const dotted = p.map(String).join('.');
        const origin = describeOrigin(file, names, overrides, p as (string | number)[]);
        const siblings = Object.keys(valueAt(raw, issue.path as (string | number)[]) ?? {}).filter((k) => !keys.includes(k));
        const what = issue.code === 'unrecognized_keys' ? `unknown key${didYouMean(String(p.at(-1)), siblings)}` : issue.message;
        return `  profiles.${name}${dotted ? '.' + dotted : ''}: ${what}${origin}`;
      })
      .join('\n');
  });
  const more = issues.length > 8 ? `\n  … and ${issues.length - 8} more` : '';
  return new UserError(`${file.path}: ${header}:\n${lines.join('\n')}${more}`);
}

/** The value at `path` inside `root`, if every step is a mapping that has it. */
function valueAt(root: Json, path: readonly (string | number)[]): JsonObject | undefined {
  let cur: Json | undefined = root;
  for (const k of path) cur = cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as JsonObject)[String(k)] : undefined;
  return cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as JsonObject) : undefined;
}

function describeOrigin(file: ParamsFile, names: readonly string[], overrides: readonly Override[], path: (string | number)[]): string {
  const strPath = path.map(String);
  // An override at or below the path (it set the key) or above it (it set a whole mapping).
  const set = overrides.find((o) => o.path.every((k, i) => i >= strPath.length || k === strPath[i]));
  if (set) return ` (from --set ${set.text})`;
  for (let i = names.length - 1; i >= 0; i--) {
    if (has(file.profiles[names[i]!], path)) {
      return i === names.length - 1 ? '' : ` (inherited from profiles.${names[i]})`;
    }
  }
  return '';
}
