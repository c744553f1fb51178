/** Escaping for HTML text and attribute values (the page inlines report text and node ids). */
const MAP: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => MAP[c]!);

/** A number as the page prints it: fixed decimals, a real minus sign. */
export function fmtNumber(v: number, decimals = 2): string {
  const s = v.toFixed(decimals);
  return s.startsWith('-') ? `\u2212${s.slice(1)}` : s;
}

/** A signed difference: +1.20, −3.05, ±0.00. */
export function fmtDelta(v: number, decimals = 2): string {
  const s = Math.abs(v).toFixed(decimals);
  if (Number(s) === 0) return `\u00b1${s}`;
  return `${v > 0 ? '+' : '\u2212'}${s}`;
}

export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
