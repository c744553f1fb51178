import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { figure1Claims, figure3Claims } from '../report/figure-claims.ts';
import { defenceRows } from '../report/defence-check.ts';
import { defenceCsv, FIGURE_CSV_HEADER, writeFigureReport } from '../report/figure-report.ts';
import { AXIS, figure1, figure2, figure3, type FigureData, type MixResult, type SnapshotResult } from '../report/figures.ts';
import { loadFontMetrics } from '../report/font-metrics.ts';
import { findFont } from '../report/fonts.ts';
import { fontSkip } from './helpers/services.ts';
import { svgToPng, vegaLiteToSvg } from '../report/render.ts';
import { fakeMix, fakeSnapshots } from './helpers/report-fake-results.ts';

const DEMO = { name: 'demo', synthetic: true, description: 'tiny sizes' };
const PAPER = { name: 'paper', synthetic: false };
const font = findFont();
const needsFont = { skip: fontSkip() };

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(m, 'SVG root has width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Texts of the SVG's <text> elements (each <tspan> line separately), unescaped. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<(text|tspan)[^>]*>([^<]*)(?=<)/g)].map((m) =>
    m[2]!
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

function pngStats(bytes: Buffer) {
  const png = PNG.sync.read(bytes);
  let sum = 0;
  let sumSq = 0;
  let inked = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const grey = (png.data[i]! + png.data[i + 1]! + png.data[i + 2]!) / 3;
    sum += grey;
    sumSq += grey * grey;
    if (grey < 200) inked++;
    colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
  }
  const n = png.width * png.height;
  return { png, variance: sumSq / n - (sum / n) ** 2, inked: inked / n, colours: colours.size };
}

async function checkFigure(fig: FigureData, texts: readonly string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'rf-fig-'));
  try {
    const out = await writeFigureReport(fig, dir);
    const extra = fig.defence ? [`${fig.id}-defence-check.csv`] : [];
    assert.deepEqual(readdirSync(dir).sort(), [...extra, `${fig.id}.csv`, `${fig.id}.md`, `${fig.id}.png`, `${fig.id}.svg`].sort());
    const svg = readFileSync(out.svgPath, 'utf8');
    const all = svgTexts(svg).join('\n');
    for (const t of texts) assert.ok(all.includes(t), `${fig.id}: SVG has no text '${t}'`);
    const { png, variance, inked, colours } = pngStats(readFileSync(out.pngPath!));
    const size = svgSize(svg);
    assert.deepEqual([png.width, png.height], [Math.round(size.width * 2), Math.round(size.height * 2)]);
    assert.deepEqual(out.pngSize, { width: png.width, height: png.height });
    assert.ok(variance > 100, `${fig.id}: PNG looks blank (grey variance ${variance.toFixed(1)})`);
    assert.ok(inked > 0.01 && inked < 0.5, `${fig.id}: ${(inked * 100).toFixed(1)} % of pixels inked`);
    assert.ok(colours > 20, `${fig.id}: only ${colours} colours`);
    assert.ok(!out.text.includes(dir), `${fig.id}: the summary names the folder it was written in:\n${out.text}`);
    assert.match(out.text, new RegExp(`figure: reports/${fig.id}\\.png\nreport: reports/${fig.id}\\.md`));
    const md = readFileSync(out.markdownPath, 'utf8');
    assert.ok(md.includes(`![${fig.title}](${fig.id}.png)`));
    assert.ok(md.includes('| statement | paper | ours |'));
    const csv = readFileSync(out.csvPath, 'utf8').trim().split('\n');
    assert.equal(csv[0], FIGURE_CSV_HEADER.join(','));
    assert.equal(csv.length, 1 + fig.points.length);
    for (const p of fig.points) assert.ok(p.y >= 0 && p.y <= 100, `${fig.id}: y ${p.y}`);
    return { svg, md, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('figure 1: axis titles, series, synthetic title and paper bands; PNG decodes, right size, not blank', needsFont, async () => {
  const fig = figure1(fakeSnapshots(), DEMO);
  const { md } = await checkFigure(fig, [AXIS.asr, AXIS.steps, AXIS.natural, 'rot30', 'grid135', 'grid775', 'paper 71–80 %', 'SYNTHETIC DATA', 'profile demo']);
  assert.match(md, /SYNTHETIC DATA: these numbers come from the synthetic planted-feature dataset/);
  assert.match(md, /\| ASR of grid775 stays around a constant level across training \| 89–95 % \| /);
  assert.match(md, /`eval-q1-625` `train-q1`/);
});

test("figure 2: L∞ series and the paper's 60-80 % natural-accuracy band; no banner for real data", needsFont, async () => {
  const fig = figure2(fakeSnapshots(), PAPER);
  const { svg, md } = await checkFigure(fig, [
    AXIS.asr,
    AXIS.steps,
    AXIS.natural,
    'L∞ ε=1/255',
    'L∞ ε=8/255',
    'natural accuracy 60–80 %, where the paper',
    'profile paper',
  ]);
  assert.ok(!svgTexts(svg).join(' ').includes('SYNTHETIC'));
  assert.doesNotMatch(md, /SYNTHETIC/);
});

test('figure 3: both panels, every model and attack, the paper anchors', needsFont, async () => {
  const fig = figure3(fakeMix(), DEMO);
  await checkFigure(fig, [
    AXIS.alpha,
    AXIS.accuracy,
    'natural',
    'L2 ε=0.25',
    'L∞ ε=8/255',
    'ResNet-18, L2 ε=0.5',
    'VGG-16, L2 ε=0.25',
    'paper 94.84 (Table 1, D)',
    'paper 84.75 (Table 1, D_R)',
  ]);
  assert.equal(fig.points.filter((p) => p.panel === 'left').length, 11 * 7);
  assert.equal(fig.points.filter((p) => p.panel === 'right').length, 3 * 11 * 2);
});

test('figure 3 with AutoAttack: dotted lines beside PGD, and the defence check in the Markdown and its CSV', needsFont, async () => {
  const mix = fakeMix().map((r) => ({
    ...r,
    accuracy: { ...r.accuracy, 'aa-l2-0.25-lite': r.accuracy['l2-0.25']! * 0.97, 'aa-l2-0.5-lite': Math.max(0, r.accuracy['l2-0.5']! - 0.08) },
  }));
  const defence = defenceRows(
    mix.map((r) => ({
      model: r.model,
      alpha: r.alpha,
      evaluations: (['l2-0.25', 'l2-0.5', 'aa-l2-0.25-lite', 'aa-l2-0.5-lite'] as const).map((a) => ({
        attack: a,
        description: a,
        robustAccuracy: (r.accuracy as Record<string, number>)[a]!,
        ...(a.startsWith('aa') ? { brokenBy: { 'apgd-ce': 3, 'apgd-t': 1, square: 0 } } : {}),
      })),
    })),
  );
  const fig = figure3(mix, DEMO, defence);
  const { md } = await checkFigure(fig, ['AutoAttack L2 ε=0.5', 'L2-PGD and AutoAttack across architectures']);
  assert.equal(fig.points.filter((p) => p.panel === 'right').length, 3 * 11 * 4);
  assert.match(md, /## Defence check: PGD beside AutoAttack/);
  assert.match(md, /a sign of gradient masking/);
  const csv = defenceCsv(fig)!.trim().split('\n');
  assert.equal(csv.length, 1 + 3 * 11 * 2);
});

test('figures: same input, same SVG and PNG bytes; text is drawn', needsFont, async () => {
  const spec = figure1(fakeSnapshots(3), DEMO).spec;
  const [a, b] = [await vegaLiteToSvg(spec, { font: font! }), await vegaLiteToSvg(spec, { font: font! })];
  assert.equal(a, b);
  const pa = svgToPng(a, font!);
  assert.ok(pa.png.equals(svgToPng(b, font!).png));
  // The same SVG rasterised with no font at all loses exactly the text: fewer dark pixels.
  const blind = new Resvg(a, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: false, fontFiles: [] } });
  const dark = (bytes: Buffer) => {
    const png = PNG.sync.read(bytes);
    let n = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 100 && png.data[i + 1]! < 100 && png.data[i + 2]! < 100) n++;
    return n;
  };
  const withText = dark(pa.png);
  const without = dark(blind.render().asPng());
  assert.ok(withText > without + 5000, `text pixels: ${withText} with the font, ${without} without`);
});

test('figures: without a font, the SVG alone is written and the report says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-fig-'));
  try {
    const out = await writeFigureReport(figure2(fakeSnapshots(), DEMO), dir, { font: null });
    assert.equal(out.pngPath, undefined);
    assert.deepEqual(readdirSync(dir).sort(), ['fig2.csv', 'fig2.md', 'fig2.svg']);
    const md = readFileSync(out.markdownPath, 'utf8');
    assert.ok(md.includes('](fig2.svg)'));
    assert.match(md, /fig2\.png not written: no font file found .*apt-get install -y fonts-dejavu-core/);
    assert.match(out.text, /warning: .*RF_FONT_FILE/);
    assert.ok(svgTexts(readFileSync(out.svgPath, 'utf8')).includes(AXIS.asr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => findFont({ RF_FONT_FILE: '/nonexistent/font.ttf' }), /RF_FONT_FILE=\/nonexistent\/font.ttf: no such file/);
});

test('font metrics: advance widths match the ink resvg draws (within side bearings)', needsFont, () => {
  const files = [font!.regular, '/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf'].filter((f) => existsSync(f));
  for (const file of files) {
    const text = 'Hello, world ε=8/255 (α)';
    const predicted = loadFontMetrics(file).width(text, 20);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="60"><text x="10" y="40" font-size="20">${text}</text></svg>`;
    const ink = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [file] } }).getBBox()!.width;
    assert.ok(ink <= predicted && ink > predicted - 6, `${file}: ink ${ink.toFixed(1)} px, advance ${predicted.toFixed(1)} px`);
  }
});

test('figure inputs: named errors', () => {
  const snap = (step: number, asr: Record<string, number | null>): SnapshotResult => ({ step, naturalAccuracy: 0.5, asr, nodes: ['n'] });
  assert.throws(() => figure1([snap(1, { rot30: 0.7 })], DEMO), /fig1: no snapshot has an ASR for grid135, grid775 \(snapshots have: rot30\)/);
  assert.throws(
    () => figure1([snap(1, { rot30: 70, grid135: 0.1, grid775: 0.1 })], DEMO),
    /fig1, step 1, asr\['rot30'\]: expected a fraction in \[0, 1\], got 70/,
  );
  assert.throws(() => figure2([snap(5, {}), snap(5, {})], DEMO), /fig2: two snapshots at step 5/);
  const mix = (model: string, alpha: number): MixResult => ({ model, alpha, accuracy: { none: 0.9 }, nodes: ['n'] });
  assert.throws(() => figure3([mix('VGG-16', 0)], DEMO), /fig3: no ResNet-50 results/);
  assert.throws(() => figure3([mix('ResNet-50', 0), mix('ResNet-50', 0)], DEMO), /fig3: ResNet-50 at α=0: two results/);
  assert.throws(() => figure3([mix('ResNet-50', 1.5)], DEMO), /α must be in \[0, 1\]/);
});

test('figure claims: summaries computed from crafted numbers', () => {
  const snaps: SnapshotResult[] = [70, 75, 90].map((v, i) => ({ step: i * 10, naturalAccuracy: 0.5, asr: { rot30: v / 100 }, nodes: [] }));
  const rot = figure1Claims(snaps).find((c) => c.claim.includes('rot30'))!;
  assert.deepEqual([rot.paper, rot.ours], ['71–80 %', "70.0–90.0 % (median 75.0; 1 of 3 snapshots in the paper's range)"]);
  const mix: MixResult[] = [
    { model: 'ResNet-50', alpha: 0, accuracy: { none: 0.95, 'l2-0.25': 0.1 }, nodes: [] },
    { model: 'ResNet-50', alpha: 0.1, accuracy: { none: 0.94, 'l2-0.25': 0.3 }, nodes: [] },
    { model: 'ResNet-50', alpha: 0.9, accuracy: { none: 0.9, 'l2-0.25': 0.45 }, nodes: [] },
  ];
  const claims = figure3Claims(mix);
  const find = (s: string) => claims.find((c) => c.claim === s)!;
  assert.equal(find('ResNet-50 natural accuracy, α = 0 → 0.9').ours, '95.0 → 90.0 % (−5.0 points)');
  assert.equal(find('ResNet-50 natural accuracy, α = 0 → 0.9').paper, 'about −4 points');
  assert.equal(find('ResNet-50 L2 ε=0.25, α = 0 → 0.1').ours, '10.0 → 30.0 % (+20.0 points)');
  assert.equal(find('ResNet-50 natural accuracy at α = 1 (D_R)').ours, 'n/a');
  assert.equal(find('ResNet-50 L2 ε=0.25, α = 0 → 1').ours, 'n/a (missing α = 1)');
});
