/**
 * Text widths from a TrueType/OpenType file's own advance widths (tables head, hhea, hmtx, cmap),
 * so vega lays out titles and legends for the font resvg will draw them with. Without this, vega
 * (lacking node-canvas) guesses 0.8 em per character, which leaves wide empty margins and cuts
 * legend labels short. Kerning is ignored: a few pixels on a long line.
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  /** Width in pixels of `text` set at `fontSize` pixels. */
  width(text: string, fontSize: number): number;
}

function tableOffsets(buf: Buffer, file: string): Map<string, number> {
  const version = buf.readUInt32BE(0);
  if (version !== 0x00010000 && version !== 0x4f54544f /* OTTO */ && version !== 0x74727565 /* true */) {
    throw new Error(`${file}: not a TrueType/OpenType font (collections are not supported)`);
  }
  const tables = new Map<string, number>();
  const count = buf.readUInt16BE(4);
  for (let i = 0; i < count; i++) {
    const rec = 12 + 16 * i;
    tables.set(buf.toString('latin1', rec, rec + 4), buf.readUInt32BE(rec + 8));
  }
  for (const t of ['head', 'hhea', 'hmtx', 'cmap']) if (!tables.has(t)) throw new Error(`${file}: no '${t}' table`);
  return tables;
}

/** A code point → glyph index lookup from the best Unicode subtable (format 12, else 4). */
function cmapLookup(buf: Buffer, cmap: number, file: string): (cp: number) => number {
  const n = buf.readUInt16BE(cmap + 2);
  let format4: number | undefined;
  let format12: number | undefined;
  for (let i = 0; i < n; i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = buf.readUInt16BE(rec);
    const encoding = buf.readUInt16BE(rec + 2);
    const sub = cmap + buf.readUInt32BE(rec + 4);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    const format = buf.readUInt16BE(sub);
    if (format === 12 && format12 === undefined) format12 = sub;
    if (format === 4 && format4 === undefined) format4 = sub;
  }
  if (format12 !== undefined) {
    const sub = format12;
    const groups = buf.readUInt32BE(sub + 12);
    return (cp) => {
      let lo = 0;
      let hi = groups - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const g = sub + 16 + 12 * mid;
        const start = buf.readUInt32BE(g);
        const end = buf.readUInt32BE(g + 4);
        if (cp < start) hi = mid - 1;
        else if (cp > end) lo = mid + 1;
        else return buf.readUInt32BE(g + 8) + (cp - start);
      }
      return 0;
    };
  }
  if (format4 !== undefined) {
    const sub = format4;
    const segCount = buf.readUInt16BE(sub + 6) / 2;
    const ends = sub + 14;
    const starts = ends + 2 * segCount + 2;
    const deltas = starts + 2 * segCount;
    const ranges = deltas + 2 * segCount;
    return (cp) => {
      if (cp > 0xffff) return 0;
      for (let i = 0; i < segCount; i++) {
        if (cp > buf.readUInt16BE(ends + 2 * i)) continue;
        const start = buf.readUInt16BE(starts + 2 * i);
        if (cp < start) return 0;
        const delta = buf.readUInt16BE(deltas + 2 * i);
        const rangeAt = ranges + 2 * i;
        const range = buf.readUInt16BE(rangeAt);
        if (range === 0) return (cp + delta) & 0xffff;
        const glyph = buf.readUInt16BE(rangeAt + range + 2 * (cp - start));
        return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
      }
      return 0;
    };
  }
  throw new Error(`${file}: no Unicode cmap subtable of format 4 or 12`);
}

export function loadFontMetrics(file: string): FontMetrics {
  const buf = readFileSync(file);
  const tables = tableOffsets(buf, file);
  const unitsPerEm = buf.readUInt16BE(tables.get('head')! + 18);
  const numberOfHMetrics = buf.readUInt16BE(tables.get('hhea')! + 34);
  const hmtx = tables.get('hmtx')!;
  const glyphOf = cmapLookup(buf, tables.get('cmap')!, file);
  const advance = (glyph: number) => buf.readUInt16BE(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
  const cache = new Map<number, number>();
  return {
    width(text: string, fontSize: number): number {
      let units = 0;
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        let a = cache.get(cp);
        if (a === undefined) cache.set(cp, (a = advance(glyphOf(cp))));
        units += a;
      }
      return (units / unitsPerEm) * fontSize;
    },
  };
}
