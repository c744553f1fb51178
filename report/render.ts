/**
 * Vega-Lite spec → SVG (vega's headless view, no browser, no network: data are inline) → PNG
 * (resvg, a Rust SVG renderer shipped as a prebuilt npm binary). Text is measured for layout and
 * drawn in the PNG with one font file (fonts.ts), so the same spec and font give the same bytes.
 * Without a font file the SVG is laid out with vega's estimate and no PNG is written.
 */
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { loadFontMetrics, type FontMetrics } from './font-metrics.ts';
import { FONT_HINT, findFont, type FontChoice } from './fonts.ts';

/** The parts of a vega text item that text measurement reads. */
interface TextItem {
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
  readonly text?: unknown;
}
interface TextMetricsHook {
  width: (item: TextItem, text?: unknown) => number;
}

const metricsByFile = new Map<string, FontMetrics>();
function metricsFor(file: string): FontMetrics {
  let m = metricsByFile.get(file);
  if (!m) metricsByFile.set(file, (m = loadFontMetrics(file)));
  return m;
}

/**
 * Makes vega measure text with `font`'s advance widths (vega's hook for renderers without a
 * canvas, as vl-convert uses). Texts are measured untruncated: measuring must not call back into
 * vega's truncation, which itself measures.
 */
function useFontMetrics(vega: Vega, font: FontChoice): void {
  const hook = textMetricsHook(vega);
  const regular = metricsFor(font.regular);
  const bold = font.bold ? metricsFor(font.bold) : undefined;
  hook.width = (item, text) => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const value = text == null ? '' : String(text).trim();
    const isBold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
    if (isBold) return bold ? bold.width(value, size) : regular.width(value, size) * 1.1;
    return regular.width(value, size);
  };
}

export interface RenderOptions {
  /** The font for text measurement and PNG text; null: render as if the machine had none. */
  readonly font?: FontChoice | null;
  /** PNG pixels per SVG unit (default 2). */
  readonly scale?: number;
}

const fontOf = (options: RenderOptions) => (options.font === undefined ? findFont() : (options.font ?? undefined));

type Vega = typeof import('vega');

/**
 * vega and vega-lite, imported on the first figure: they take a few hundred milliseconds to load,
 * which every command of the CLI would otherwise pay (the compiled CLI loads ES packages imported
 * statically before it starts).
 */
const renderers = async (): Promise<{ vega: Vega; compile: (typeof import('vega-lite'))['compile'] }> => {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  return { vega, compile: vegaLite.compile };
};

function textMetricsHook(vega: Vega): TextMetricsHook & { estimateWidth: TextMetricsHook['width'] } {
  const hook = (vega as unknown as { textMetrics?: TextMetricsHook & { estimateWidth: TextMetricsHook['width'] } }).textMetrics;
  if (!hook || typeof hook.width !== 'function' || typeof hook.estimateWidth !== 'function') {
    throw new Error('vega no longer exports textMetrics: report/render.ts needs updating');
  }
  return hook;
}

/** Back to vega's own estimate (0.8 em per character) when no font file is known. */
function useEstimatedWidths(vega: Vega): void {
  const hook = textMetricsHook(vega);
  hook.width = hook.estimateWidth;
}

export async function vegaLiteToSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const { vega, compile } = await renderers();
  const font = fontOf(options);
  if (font) useFontMetrics(vega, font);
  else useEstimatedWidths(vega);
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  // Clip-path ids come from a process-wide counter; restart it so the bytes depend on the spec only.
  vega.resetSVGDefIds();
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface RenderedPng {
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
}

/** Rasterises an SVG at `scale` × its size, on white, with the given font for every text. */
export function svgToPng(svg: string, font: FontChoice, scale = 2): RenderedPng {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: font.bold ? [font.regular, font.bold] : [font.regular] },
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}

export interface WrittenFigure {
  readonly svgPath: string;
  /** Absent when no font was found: the SVG alone was written (see `warnings`). */
  readonly pngPath?: string;
  readonly pngSize?: { readonly width: number; readonly height: number };
  readonly warnings: readonly string[];
}

/** Writes `<basePath>.svg` and `<basePath>.png` atomically. */
export async function writeFigureFiles(spec: TopLevelSpec, basePath: string, options: RenderOptions = {}): Promise<WrittenFigure> {
  const font = fontOf(options);
  const svg = await vegaLiteToSvg(spec, { font: font ?? null });
  const svgPath = `${basePath}.svg`;
  writeFileAtomic(svgPath, svg);
  if (!font) return { svgPath, warnings: [`${basePath}.png not written: ${FONT_HINT}`] };
  const { png, width, height } = svgToPng(svg, font, options.scale ?? 2);
  const pngPath = `${basePath}.png`;
  writeFileAtomic(pngPath, png);
  return { svgPath, pngPath, pngSize: { width, height }, warnings: [] };
}
