import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and no whitespace, so that equal values always
 * serialise to equal bytes: the basis of every node key. Values JSON cannot represent exactly
 * (undefined inside objects is dropped like JSON.stringify does; NaN, Infinity, functions, bigint)
 * are errors rather than silent `null`s, since they would make two different params hash alike.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, '$');
}

function serialise(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`canonicalJson: ${path} is ${v}, which JSON cannot represent`);
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x, i) => serialise(x, `${path}[${i}]`)).join(',')}]`;
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${serialise(x, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new Error(`canonicalJson: ${path} has type ${typeof v}, which JSON cannot represent`);
  }
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
