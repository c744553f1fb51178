/**
 * A report node's Markdown as page HTML (marked, GitHub-flavoured). The page must stand alone, so
 * references to the node's own files are resolved in place: an image becomes the inline SVG of the
 * same name (or an embedded PNG), a link to a sibling file becomes its name. Inline code that names
 * a node behind the report becomes a link to that node's provenance; raw HTML is shown as text.
 */
import type { Links, Marked, Token, Tokens } from 'marked';
import { esc } from './escape.ts';
import type { ReportFile } from './model.ts';

export interface MarkdownContext {
  readonly files: readonly ReportFile[];
  /** The page link (`#…`) of a node id behind this report, if it has one. */
  readonly nodeHref: (nodeId: string) => string | undefined;
  /** Files inlined so far (figures are not repeated below the text). */
  readonly used: Set<string>;
  /** The page link of point `index` of an SVG figure (its line in the CSV of the same name). */
  readonly pointHref?: (svgName: string, index: number) => string | undefined;
}

const stem = (name: string) => name.replace(/\.[^.]+$/, '');
const isLocal = (href: string) => !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('#') && !href.startsWith('/');

/** An SVG file's markup, ready to sit inside the page (no XML prolog or doctype). */
export function inlineSvg(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*>\s*/, '').replace(/<!DOCTYPE[^>]*>\s*/i, '');
}

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The figure a file name refers to, inline: SVG preferred, else PNG as a data URL. */
export function figureHtml(
  files: readonly ReportFile[],
  name: string,
  alt: string,
  used: Set<string>,
  pointHref?: MarkdownContext['pointHref'],
): string | undefined {
  const base = stem(name);
  const svg = files.find((f) => f.name === `${base}.svg` && typeof f.content === 'string');
  if (svg) {
    used.add(svg.name);
    // Points a figure links to `#point-<i>` (report/figures.ts) open that point's provenance here.
    const markup = inlineSvg(svg.content as string).replace(/xlink:href="#point-(\d+)"/g, (all, i: string) => {
      const href = pointHref?.(svg.name, Number(i));
      return href ? `href="${esc(href)}"` : all;
    });
    return `<figure class="figure" role="group" aria-label="${esc(alt)}">${markup}</figure>`;
  }
  const png = files.find((f) => f.name === `${base}.png` && typeof f.content !== 'string');
  if (png) {
    used.add(png.name);
    return `<figure class="figure"><img src="data:image/png;base64,${toBase64(png.content as Uint8Array)}" alt="${esc(alt)}"></figure>`;
  }
  return undefined;
}

let markedModule: typeof import('marked') | undefined;

/**
 * Loads marked for renderMarkdown. An import on first use, not at the top: the compiled CLI loads
 * the ES packages a module imports statically at every start, and most commands write no page.
 */
export async function loadMarkdownRenderer(): Promise<void> {
  markedModule ??= await import('marked');
}

function marked(ctx: MarkdownContext): Marked {
  if (markedModule === undefined) throw new Error('renderMarkdown: await loadMarkdownRenderer() first');
  return new markedModule.Marked({
    gfm: true,
    renderer: {
      image({ href, text }: Tokens.Image): string {
        if (isLocal(href)) return figureHtml(ctx.files, href, text, ctx.used, ctx.pointHref) ?? `<em>${esc(text)} (${esc(href)} not found)</em>`;
        return `<em>${esc(text)}</em>`;
      },
      link(this: { parser: { parseInline(t: Token[]): string } }, { href, tokens }: Tokens.Link): string {
        const inner = this.parser.parseInline(tokens);
        if (href.startsWith('#')) return `<a href="${esc(href)}">${inner}</a>`;
        // Sibling files are inlined elsewhere on the page; outside links would need the network.
        return isLocal(href) ? inner : `${inner} (<code>${esc(href)}</code>)`;
      },
      codespan({ text }: Tokens.Codespan): string {
        const href = ctx.nodeHref(text);
        return href ? `<a class="node-link" href="${esc(href)}"><code>${esc(text)}</code></a>` : `<code>${esc(text)}</code>`;
      },
      html({ text }: Tokens.HTML | Tokens.Tag): string {
        return esc(text);
      },
      heading(this: { parser: { parseInline(t: Token[]): string } }, { tokens, depth }: Tokens.Heading): string {
        // The report's own title is the section heading; its headings sit one level below.
        const level = Math.min(6, depth + 1);
        return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
      },
      table(this: { parser: { parseInline(t: Token[]): string } }, t: Tokens.Table): string {
        const cell = (c: Tokens.TableCell, tag: 'th' | 'td') =>
          `<${tag}${c.align ? ` class="a-${c.align}"` : ''}>${this.parser.parseInline(c.tokens)}</${tag}>`;
        return `<div class="scroll"><table class="md"><thead><tr>${t.header.map((c) => cell(c, 'th')).join('')}</tr></thead><tbody>${t.rows
          .map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`)
          .join('')}</tbody></table></div>\n`;
      },
    },
  });
}

export interface SplitMarkdown {
  /** The first level-1 heading's text, if any. */
  readonly title: string | undefined;
  /** Everything before the first level-2 heading or table, without the title (banner, profile, caption). */
  readonly intro: string;
  /** The rest. */
  readonly body: string;
  /** How many blocks of the intro were left out (`drop`): the page shows them once, above. */
  readonly dropped: number;
}

interface SplitTokens {
  readonly title: string | undefined;
  readonly intro: Token[];
  readonly body: Token[];
  readonly links: Links;
}

function splitTokens(m: Marked, md: string): SplitTokens {
  const tokens = m.lexer(md);
  let title: string | undefined;
  const first = tokens.findIndex((t) => t.type === 'heading' && (t as Tokens.Heading).depth === 1);
  if (first >= 0) title = (tokens[first] as Tokens.Heading).text;
  const rest = tokens.filter((_, i) => i !== first);
  const cut = rest.findIndex((t) => t.type === 'table' || (t.type === 'heading' && (t as Tokens.Heading).depth >= 2));
  const split = cut < 0 ? rest.length : cut;
  return { title, intro: rest.slice(0, split), body: rest.slice(split), links: tokens.links };
}

/** A block's identity across reports: its Markdown source. */
const blockKey = (t: Token): string => t.raw.trim();

export interface IntroBlock {
  readonly key: string;
  readonly type: string;
}

/** The blocks of a report's intro (between its title and its first table or sub-heading), blank lines left out. */
export function introBlocks(md: string): IntroBlock[] {
  if (markedModule === undefined) throw new Error('introBlocks: await loadMarkdownRenderer() first');
  return splitTokens(new markedModule.Marked({ gfm: true }), md)
    .intro.filter((t) => t.type !== 'space')
    .map((t) => ({ key: blockKey(t), type: t.type }));
}

/** Renders only the intro blocks of `md` whose key is in `keys` (the page's shared block). */
export function renderIntroBlocks(md: string, ctx: MarkdownContext, keys: ReadonlySet<string>): string {
  const m = marked(ctx);
  const s = splitTokens(m, md);
  return m.parser(
    Object.assign(
      s.intro.filter((t) => t.type !== 'space' && keys.has(blockKey(t))),
      { links: s.links },
    ),
  );
}

/**
 * Renders a report's Markdown in two parts, so a structured view can sit between them. Intro blocks
 * whose key is in `drop` are left out (the page shows them once for every report).
 */
export function renderMarkdown(md: string, ctx: MarkdownContext, drop: ReadonlySet<string> = new Set()): SplitMarkdown {
  const m = marked(ctx);
  const s = splitTokens(m, md);
  const intro = s.intro.filter((t) => t.type === 'space' || !drop.has(blockKey(t)));
  const render = (ts: Token[]) => m.parser(Object.assign(ts, { links: s.links }));
  return { title: s.title, intro: render(intro), body: render(s.body), dropped: s.intro.length - intro.length };
}
