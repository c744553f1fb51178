import YAML from 'yaml';

/** Number and text formatting shared by the inspection verbs. */

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function indentYaml(value: unknown, pad: string): string {
  const text = YAML.stringify(value, { lineWidth: 100 }).trimEnd();
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** The width inspection output keeps to by default (`-v` prints everything). */
export const WIDTH = 100;

/** A measured number as people read it: four significant digits (one decimal from 1000 up). */
export function roundFloat(v: number): number {
  if (Number.isInteger(v) || !Number.isFinite(v)) return v;
  return Math.abs(v) >= 1000 ? Number(v.toFixed(1)) : Number(v.toPrecision(4));
}

/** `value` with every non-integer number in it rounded (roundFloat). */
export function roundFloats(value: unknown): unknown {
  if (typeof value === 'number') return roundFloat(value);
  if (Array.isArray(value)) return value.map(roundFloats);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundFloats(v)]));
  return value;
}

/** Nested parameters as `a.b=value` pairs, in declaration order (strings unquoted). */
export function paramPairs(value: unknown, prefix = ''): string[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return prefix ? [`${prefix}={}`] : [];
    return entries.flatMap(([k, v]) => paramPairs(v, prefix ? `${prefix}.${k}` : k));
  }
  return [`${prefix}=${typeof value === 'string' ? value : JSON.stringify(value)}`];
}

/**
 * As many of `pairs` as fit in `room` columns, then `…+N` for the N left out; a single pair too
 * long for the room is cut with `…`. Empty when not even that fits.
 */
export function fitPairs(pairs: readonly string[], room: number): string {
  let out = '';
  let shown = 0;
  for (const p of pairs) {
    const sep = out === '' ? '' : ' ';
    const left = pairs.length - shown - 1;
    const tail = left > 0 ? ` …+${left}` : '';
    if (out.length + sep.length + p.length + tail.length <= room) {
      out += sep + p;
      shown++;
      continue;
    }
    if (out === '') {
      // Not even the first pair fits whole: as much of it as leaves room for the count.
      const cut = room - tail.length - 1;
      if (cut >= 8) return `${p.slice(0, cut)}…${tail}`;
    }
    break;
  }
  if (shown === pairs.length) return out;
  const tail = `${out === '' ? '' : ' '}…+${pairs.length - shown}`;
  return out.length + tail.length <= room ? out + tail : '';
}

/** `evals[2]` before `evals[10]`: input labels with their list index compared as numbers. */
export function compareLabels(a: string, b: string): number {
  const [, an = a, ai] = /^(.*)\[(\d+)\]$/.exec(a) ?? [];
  const [, bn = b, bi] = /^(.*)\[(\d+)\]$/.exec(b) ?? [];
  if (an !== bn) return an < bn ? -1 : 1;
  return Number(ai ?? -1) - Number(bi ?? -1);
}

/** `text` folded at spaces into lines of at most `width` columns (a longer word keeps a line of its own). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * Comma-separated parts on one line where they fit `width`, else broken between parts (never inside
 * one), continuation lines indented by two.
 */
export function foldParts(parts: readonly string[], width: number): string[] {
  return parts.reduce<string[]>((lines, part) => {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 2 + part.length <= width) lines[lines.length - 1] = `${last}, ${part}`;
    else lines.push(last === undefined ? part : `  ${part}`);
    return lines;
  }, []);
}
