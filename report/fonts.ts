/**
 * The font PNG rendering draws text with. resvg reads font files itself (no browser, no network);
 * we hand it exactly one family so the PNG does not depend on which other fonts a machine has.
 * Order: RF_FONT_FILE, then well-known sans-serif files (Debian/Ubuntu: `apt-get install -y
 * fonts-dejavu-core`), then what fontconfig's `fc-match` names for sans-serif.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface FontChoice {
  readonly regular: string;
  readonly bold?: string;
  /** How the font was found, for the report ("RF_FONT_FILE", "system: DejaVu Sans", "fc-match"). */
  readonly origin: string;
}

const CANDIDATES: ReadonlyArray<{ name: string; regular: string; bold: string }> = [
  { name: 'DejaVu Sans', regular: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', bold: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf' },
  { name: 'DejaVu Sans', regular: '/usr/share/fonts/TTF/DejaVuSans.ttf', bold: '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf' },
  { name: 'DejaVu Sans', regular: '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', bold: '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf' },
  {
    name: 'Liberation Sans',
    regular: '/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf',
    bold: '/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf',
  },
  {
    name: 'Liberation Sans',
    regular: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    bold: '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  },
  { name: 'Noto Sans', regular: '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf', bold: '/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf' },
  { name: 'Arial', regular: '/System/Library/Fonts/Supplemental/Arial.ttf', bold: '/System/Library/Fonts/Supplemental/Arial Bold.ttf' },
  { name: 'Arial', regular: 'C:\\Windows\\Fonts\\arial.ttf', bold: 'C:\\Windows\\Fonts\\arialbd.ttf' },
];

export const FONT_HINT =
  'no font file found for PNG text: install one (Debian/Ubuntu: `apt-get install -y fonts-dejavu-core`) ' + 'or set RF_FONT_FILE to a .ttf/.otf file';

let cached: FontChoice | null | undefined;

/** The font to render with, or undefined when the machine has none we can find. */
export function findFont(env: NodeJS.ProcessEnv = process.env): FontChoice | undefined {
  const override = env['RF_FONT_FILE'];
  if (override) {
    if (!existsSync(override)) throw new Error(`RF_FONT_FILE=${override}: no such file`);
    return { regular: override, origin: 'RF_FONT_FILE' };
  }
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  for (const c of CANDIDATES) {
    if (existsSync(c.regular)) {
      cached = { regular: c.regular, ...(existsSync(c.bold) ? { bold: c.bold } : {}), origin: `system: ${c.name}` };
      return cached;
    }
  }
  try {
    const file = execFileSync('fc-match', ['-f', '%{file}', 'sans-serif'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (file && /\.(ttf|otf|ttc)$/i.test(file) && existsSync(file)) cached = { regular: file, origin: 'fc-match' };
  } catch {
    // no fontconfig: fall through to "no font"
  }
  return cached ?? undefined;
}
