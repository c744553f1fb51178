/**
 * A small line chart as inline SVG for the training curves in the provenance panels (loss and
 * accuracy per epoch). Hand-drawn rather than through vega: there is one per training node, and
 * each must stay a few hundred bytes in a page that holds hundreds of nodes.
 */
import { esc } from './escape.ts';

export interface ChartSeries {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#2f6db5', '#d9711c', '#3b8a3e', '#b8403e'];

const tick = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));

export function lineChart(series: readonly ChartSeries[], o: ChartOptions): string {
  const width = o.width ?? 320;
  const height = o.height ?? 170;
  const m = { left: 46, right: 10, top: 22, bottom: 34 };
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return '';
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(o.title)}">`,
    `<title>${esc(o.title)}</title>`,
    `<text x="${m.left}" y="14" class="chart-title">${esc(o.title)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" class="chart-frame"/>`,
  ];
  for (const y of [y0, y1]) parts.push(`<text x="${m.left - 4}" y="${sy(y) + 4}" text-anchor="end" class="chart-tick">${tick(y)}</text>`);
  for (const x of [x0, x1]) parts.push(`<text x="${sx(x)}" y="${m.top + ph + 13}" text-anchor="middle" class="chart-tick">${tick(x)}</text>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 4}" text-anchor="middle" class="chart-label">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(11 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" class="chart-label">${esc(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`);
    if (series.length > 1)
      parts.push(`<text x="${width - m.right - 4}" y="${m.top + 12 + i * 12}" text-anchor="end" fill="${color}" class="chart-tick">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
