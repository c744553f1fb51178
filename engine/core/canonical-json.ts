import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and no whitespace, so that equal values always
 * serialise to equal bytes: the basis of every node key. Values JSON cannot represent exactly
 * (undefined inside objects is dropped like JSON.stringify does; NaN, Infinity, functions, bigint)
 * are errors rather than silent `null`s, since they would make two different params hash alike.
 */
export function canonicalJson(value: unknown): string {
  try {
    return serialise(value);
  } catch (e) {
    if (e instanceof Unrepresentable) throw new Error(`canonicalJson: ${locate(value, '$') ?? 'a value JSON cannot represent'}`);
    throw e;
  }
}

class Unrepresentable extends Error {}

const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Builds no paths: it runs for every node key of every run (thousands in a no-op), and a value it
 * cannot represent is located afterwards by `locate`, which walks the same value again. Written
 * for a cold process (most of a no-op's calls run before the JIT optimises them): sorted keys, no
 * entry arrays or closures, plain concatenation.
 */
function serialise(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Unrepresentable();
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + serialise(v[i]);
        return out + ']';
      }
      const o = v as Record<string, unknown>;
      // Default sort order is by UTF-16 code units, the order of `<` on strings.
      const keys = Object.keys(o).sort();
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const x = o[keys[i]!];
        if (x === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(keys[i]) + ':' + serialise(x);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new Unrepresentable();
  }
}

/** Where in `v` the first value JSON cannot represent is, and what it is (same walk order as serialise). */
function locate(v: unknown, path: string): string | undefined {
  if (v === null) return undefined;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return undefined;
    case 'number':
      return Number.isFinite(v) ? undefined : `${path} is ${v}, which JSON cannot represent`;
    case 'object': {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const bad = locate(v[i], `${path}[${i}]`);
          if (bad !== undefined) return bad;
        }
        return undefined;
      }
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(byKey);
      for (const [k, x] of entries) {
        const bad = locate(x, `${path}.${k}`);
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    default:
      return `${path} has type ${typeof v}, which JSON cannot represent`;
  }
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
