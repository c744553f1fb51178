/**
 * Figures 1-3 as Vega-Lite specs, from typed results the aggregate stages fill from evaluation
 * metrics (fractions in [0, 1]; plotted as %). Each figure has two panels side by side and draws
 * the paper's reported ranges or anchors where the paper gives any:
 *  - fig1: ASR of rot30, grid135, grid775 vs training iterations and vs natural accuracy; shaded:
 *    the paper's ASR ranges (71-80, 84-90, 89-95 %).
 *  - fig2: ASR of L∞-PGD ε = 1, 2, 4, 8/255, same panels; shaded: natural accuracy 60-80 %, where
 *    the paper sees ASR rise, and a rule at 80 %, after which it levels.
 *  - fig3: left, ResNet-50 natural and robust accuracy vs α; right, ResNet-50/-18/VGG-16 under L2
 *    ε = 0.25, 0.5 vs α; diamonds: the paper's natural-accuracy anchors (Table 1 at α = 0 and 1,
 *    "about 4 points lower" at α = 0.9).
 */
import type { TopLevelSpec } from 'vega-lite';
import { figure1Claims, figure2Claims, figure3Claims, mixNumbers, snapshotNumbers, type ClaimRow, type NumbersTable } from './figure-claims.ts';
import type { DefenceRow } from './defence-check.ts';
import { attackLabel } from './labels.ts';
import { PAPER_FIG1, PAPER_FIG2, PAPER_FIG3 } from './paper.ts';
import { toPercent, toPercentOrNull } from './percent.ts';
import { checkProfile, profileSummary, profileTag, type ProfileInfo } from './profile.ts';
import type { MixResult, SnapshotResult } from './figure-results.ts';

// Re-exported: the figure stage and the tests name the results where the figures are.
export type { MixResult, SnapshotResult } from './figure-results.ts';

export type FigureId = 'fig1' | 'fig2' | 'fig3';

/** One plotted point; `order` is the order the panel's line visits points in. */
export interface PlotPoint {
  readonly panel: string;
  readonly series: string;
  readonly x: number;
  readonly y: number;
  readonly order: number;
  readonly nodes: readonly string[];
}

export interface FigureData {
  readonly id: FigureId;
  readonly title: string;
  readonly profile: ProfileInfo;
  readonly points: readonly PlotPoint[];
  readonly spec: TopLevelSpec;
  /** The paper's statements about this figure beside the matching summary of our data. */
  readonly claims: readonly ClaimRow[];
  /** The plotted numbers with their nodes, for the Markdown report. */
  readonly numbers: readonly NumbersTable[];
  /** Figure 3: PGD beside AutoAttack per model and α (defence-check.ts). */
  readonly defence?: readonly DefenceRow[];
}

export const FIG1_ATTACKS = ['rot30', 'grid135', 'grid775'] as const;
/** Question 1 runs L∞-PGD with a random start; key the results by these names (or pass `attacks`). */
export const FIG2_ATTACKS = ['linf-1', 'linf-2', 'linf-4', 'linf-8'] as const;
export const FIG3_LEFT_ATTACKS = ['none', 'l2-0.25', 'l2-0.5', 'linf-1', 'linf-2', 'linf-4', 'linf-8'] as const;
export const FIG3_RIGHT_ATTACKS = ['l2-0.25', 'l2-0.5'] as const;
export const FIG3_MODELS = ['ResNet-50', 'ResNet-18', 'VGG-16'] as const;

export const AXIS = {
  asr: 'attack success rate (%)',
  steps: 'training iterations',
  natural: 'natural accuracy (%)',
  alpha: 'mix ratio α',
  accuracy: 'accuracy (%)',
} as const;

// Ten colours: Figure 3's left panel draws up to ten series (seven PGD and natural, three AutoAttack).
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#b279a2', '#9d755d', '#72b7b2', '#eeca3b', '#79706e', '#d67195'];
const PANEL_WIDTH = 380;
const PANEL_HEIGHT = 270;

function seriesLabel(attack: string): string {
  return attack === 'none' ? 'natural' : attackLabel(attack);
}

function subtitle(profile: ProfileInfo, extra: readonly string[]): string[] {
  const lines = [profileTag(profile) + profileSummary(profile)];
  if (profile.synthetic) lines.push("SYNTHETIC DATA (planted-feature set): not comparable to the paper's CIFAR-10 values");
  return [...lines, ...extra];
}

function baseSpec(title: string, profile: ProfileInfo, notes: readonly string[]) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 16,
    title: { text: title, subtitle: subtitle(profile, notes), anchor: 'start' as const, offset: 14 },
    config: {
      font: 'sans-serif',
      title: { fontSize: 16, subtitleFontSize: 11, subtitleColor: '#444', subtitlePadding: 6 },
      axis: { titleFontSize: 12, labelFontSize: 11, titleFontWeight: 'normal' as const, gridColor: '#e6e6e6' },
      legend: {
        titleFontSize: 11,
        labelFontSize: 11,
        titleFontWeight: 'bold' as const,
        symbolType: 'stroke',
        symbolStrokeWidth: 2.5,
        symbolOpacity: 1,
        labelLimit: 400,
      },
      header: { titleFontSize: 12 },
      view: { stroke: '#bbb' },
      concat: { spacing: 36 },
    },
  };
}

function checkFraction(v: number, where: string): void {
  toPercent(v, where);
}

function checkSnapshots(snapshots: readonly SnapshotResult[], where: string): SnapshotResult[] {
  if (snapshots.length === 0) throw new Error(`${where}: no snapshots`);
  const sorted = [...snapshots].sort((a, b) => a.step - b.step);
  sorted.forEach((s, i) => {
    if (!(Number.isInteger(s.step) && s.step >= 0)) throw new Error(`${where}: snapshot step ${String(s.step)} is not a non-negative integer`);
    if (i > 0 && sorted[i - 1]!.step === s.step) throw new Error(`${where}: two snapshots at step ${s.step}`);
    checkFraction(s.naturalAccuracy, `${where}, step ${s.step}, naturalAccuracy`);
    for (const [k, v] of Object.entries(s.asr)) toPercentOrNull(v, `${where}, step ${s.step}, asr['${k}']`);
  });
  return sorted;
}

/** ASR lines over snapshots, once against steps (panel `steps`) and once against natural accuracy. */
function curvePoints(snapshots: readonly SnapshotResult[], attacks: readonly string[], where: string): PlotPoint[] {
  const sorted = checkSnapshots(snapshots, where);
  const missing = attacks.filter((a) => !sorted.some((s) => Object.hasOwn(s.asr, a)));
  if (missing.length) {
    const known = [...new Set(sorted.flatMap((s) => Object.keys(s.asr)))].join(', ');
    throw new Error(`${where}: no snapshot has an ASR for ${missing.join(', ')} (snapshots have: ${known || 'none'})`);
  }
  const points: PlotPoint[] = [];
  sorted.forEach((s, order) => {
    for (const attack of attacks) {
      const asr = s.asr[attack];
      if (asr === undefined || asr === null) continue;
      const y = asr * 100;
      const series = seriesLabel(attack);
      points.push({ panel: 'steps', series, x: s.step, y, order, nodes: s.nodes });
      points.push({ panel: 'natural', series, x: s.naturalAccuracy * 100, y, order, nodes: s.nodes });
    }
  });
  return points;
}

/**
 * The plotted values without provenance (vega-lite gets only what it draws), each point a link to
 * `#point-<i>`, its line in the CSV: the HTML report points that at the point's provenance.
 */
const plain = (points: readonly PlotPoint[]) => points.map(({ panel, series, x, y, order }, i) => ({ panel, series, x, y, order, href: `#point-${i}` }));
const HREF = { field: 'href', type: 'nominal' as const };

function colorScale(domain: readonly string[]) {
  return { domain: [...domain], range: PALETTE.slice(0, domain.length) };
}

/** `trajectory`: a faint line through points in training order, for panels whose x is not time. */
function lineLayer(panel: string, xTitle: string, yTitle: string, color: object, xScale: object, trajectory = false) {
  const mark = trajectory
    ? { type: 'line' as const, strokeWidth: 1, opacity: 0.4, point: { size: 30, filled: true, opacity: 0.9 } }
    : { type: 'line' as const, strokeWidth: 2, point: { size: 28, filled: true } };
  return {
    transform: [{ filter: { field: 'panel', equal: panel } }],
    mark,
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: xTitle, scale: xScale },
      y: { field: 'y', type: 'quantitative' as const, title: yTitle, scale: { domain: [0, 100] } },
      color: { field: 'series', type: 'nominal' as const, ...color },
      order: { field: 'order', type: 'quantitative' as const },
      href: HREF,
    },
  };
}

function trainingCurveFigure(
  id: 'fig1' | 'fig2',
  title: string,
  snapshots: readonly SnapshotResult[],
  profile: ProfileInfo,
  attacks: readonly string[],
): FigureData {
  checkProfile(profile, id);
  const points = curvePoints(snapshots, attacks, id);
  const labels = attacks.map(seriesLabel);
  const palette = colorScale(labels);
  const bands = id === 'fig1' ? PAPER_FIG1.bands.filter((b) => attacks.includes(b.attack)) : [];
  // The paper's range goes into the legend label: inline labels collide where bands overlap.
  const rangeOf = new Map(bands.map((b) => [seriesLabel(b.attack), `${b.low}–${b.high} %`]));
  const labelExpr = [...rangeOf].reduceRight(
    (rest, [label, range]) => `datum.label === ${JSON.stringify(label)} ? ${JSON.stringify(`${label} (paper ${range})`)} : ${rest}`,
    'datum.label',
  );
  const color = { scale: palette, legend: { title: 'attack', labelExpr } };
  const annotations = (panel: 'steps' | 'natural'): object[] => {
    if (id === 'fig1') {
      // Shaded bands in each series' colour; `scale: null` takes the colour from the data, so
      // the bands add no legend of their own.
      const values = bands.map((b) => ({
        low: b.low,
        high: b.high,
        fill: palette.range[labels.indexOf(seriesLabel(b.attack))]!,
      }));
      return [
        {
          data: { values },
          mark: { type: 'rect' as const, opacity: 0.15 },
          encoding: {
            y: { field: 'low', type: 'quantitative' as const },
            y2: { field: 'high' },
            color: { field: 'fill', type: 'nominal' as const, scale: null },
          },
        },
      ];
    }
    if (panel === 'steps') return [];
    // The explanation sits in the subtitle: in-plot labels overflow when the band is at an edge.
    const rise = PAPER_FIG2.risingNaturalAccuracy;
    return [
      {
        data: { values: [{ x: rise.low, x2: rise.high }] },
        mark: { type: 'rect' as const, color: '#888', opacity: 0.14 },
        encoding: { x: { field: 'x', type: 'quantitative' as const }, x2: { field: 'x2' } },
      },
      {
        data: { values: [{ x: PAPER_FIG2.levelsAfterNaturalAccuracy }] },
        mark: { type: 'rule' as const, color: '#444', strokeDash: [4, 3] },
        encoding: { x: { field: 'x', type: 'quantitative' as const } },
      },
    ];
  };
  const panel = (key: 'steps' | 'natural', panelTitle: string, xTitle: string, xScale: object) => ({
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    title: { text: panelTitle, fontSize: 13 },
    layer: [...annotations(key), lineLayer(key, xTitle, AXIS.asr, color, xScale, key === 'natural')],
  });
  const note =
    id === 'fig1'
      ? "shaded: the ASR range the paper's text reports across training (CIFAR-10)"
      : "grey band: natural accuracy 60–80 %, where the paper's text sees L∞ ASR rise (CIFAR-10); dashed: 80 %, after which it levels";
  const spec = {
    ...baseSpec(title, profile, [note]),
    data: { values: plain(points) },
    hconcat: [panel('steps', 'vs training iterations', AXIS.steps, { zero: true }), panel('natural', 'vs natural accuracy', AXIS.natural, { zero: false })],
    resolve: { scale: { color: 'shared' as const } },
  } as TopLevelSpec;
  const claims = id === 'fig1' ? figure1Claims(snapshots) : figure2Claims(snapshots, attacks);
  return { id, title, profile, points, spec, claims, numbers: [snapshotNumbers(snapshots, attacks)] };
}

/** Figure 1: spatial attacks across training (Question 1). */
export function figure1(snapshots: readonly SnapshotResult[], profile: ProfileInfo, attacks: readonly string[] = FIG1_ATTACKS): FigureData {
  return trainingCurveFigure('fig1', 'Figure 1 — ASR of spatial attacks across training (ResNet-34)', snapshots, profile, attacks);
}

/** Figure 2: L∞-PGD across training (Question 1). */
export function figure2(snapshots: readonly SnapshotResult[], profile: ProfileInfo, attacks: readonly string[] = FIG2_ATTACKS): FigureData {
  return trainingCurveFigure('fig2', 'Figure 2 — ASR of L∞-PGD across training (ResNet-34)', snapshots, profile, attacks);
}

function checkMix(results: readonly MixResult[]): void {
  const seen = new Set<string>();
  for (const r of results) {
    const where = `fig3: ${r.model} at α=${r.alpha}`;
    if (!(typeof r.alpha === 'number' && r.alpha >= 0 && r.alpha <= 1)) throw new Error(`${where}: α must be in [0, 1]`);
    const id = `${r.model}|${r.alpha}`;
    if (seen.has(id)) throw new Error(`${where}: two results`);
    seen.add(id);
    for (const [k, v] of Object.entries(r.accuracy)) checkFraction(v, `${where}, accuracy['${k}']`);
  }
}

export const MODEL_DASH: Readonly<Record<string, number[]>> = { 'l2-0.25': [], 'l2-0.5': [6, 4] };
/** AutoAttack's L2 lines: dotted, so each sits visibly beside its PGD partner. */
const AA_DASH: Readonly<Record<string, number[]>> = { 'l2-0.25': [2, 2], 'l2-0.5': [1, 4] };
const isAutoAttack = (attack: string) => attack.startsWith('aa-');
const aaPartner = (attack: string) => attack.replace(/^aa-/, '').replace(/-lite$/, '');

/** The AutoAttack keys present in `results` whose PGD partner is one of `partners`, in a stable order. */
function autoAttackKeys(results: readonly MixResult[], partners: readonly string[]): string[] {
  const keys = new Set(results.flatMap((r) => Object.keys(r.accuracy)).filter((k) => isAutoAttack(k) && partners.includes(aaPartner(k))));
  return [...keys].sort((a, b) => partners.indexOf(aaPartner(a)) - partners.indexOf(aaPartner(b)) || a.localeCompare(b));
}

/** Figure 3: D_mix(α) (Question 2). */
export function figure3(results: readonly MixResult[], profile: ProfileInfo, defence?: readonly DefenceRow[]): FigureData {
  checkProfile(profile, 'fig3');
  checkMix(results);
  if (!results.some((r) => r.model === 'ResNet-50')) throw new Error('fig3: no ResNet-50 results (the left panel plots ResNet-50)');
  const leftAttacks = [...FIG3_LEFT_ATTACKS, ...autoAttackKeys(results, FIG3_LEFT_ATTACKS)];
  const rightAttacks = [...FIG3_RIGHT_ATTACKS, ...autoAttackKeys(results, FIG3_RIGHT_ATTACKS)];
  const byAlpha = [...results].sort((a, b) => a.alpha - b.alpha || a.model.localeCompare(b.model));
  const points: PlotPoint[] = [];
  for (const r of byAlpha) {
    if (r.model === 'ResNet-50') {
      for (const attack of leftAttacks) {
        const v = r.accuracy[attack];
        if (v !== undefined) points.push({ panel: 'left', series: seriesLabel(attack), x: r.alpha, y: v * 100, order: r.alpha, nodes: r.nodes });
      }
    }
    for (const attack of rightAttacks) {
      const v = r.accuracy[attack];
      if (v !== undefined) {
        points.push({ panel: 'right', series: `${r.model}, ${seriesLabel(attack)}`, x: r.alpha, y: v * 100, order: r.alpha, nodes: r.nodes });
      }
    }
  }
  const leftLabels = leftAttacks.map(seriesLabel);
  const models = [...FIG3_MODELS, ...[...new Set(results.map((r) => r.model))].filter((m) => !(FIG3_MODELS as readonly string[]).includes(m)).sort()];
  const [atZero, atOne] = PAPER_FIG3.anchors;
  const near09 = atZero.naturalAccuracy - PAPER_FIG3.naturalDropAt09;
  // Each anchor labelled where it least covers the natural-accuracy line: α = 0 and 0.9 above,
  // α = 1 below.
  const anchors = [
    { x: 0, y: atZero.naturalAccuracy, label: `paper ${atZero.naturalAccuracy} (Table 1, D)`, align: 'left' as const, dy: -9 },
    { x: 0.9, y: near09, label: `paper ≈${round1(near09)} (≈${PAPER_FIG3.naturalDropAt09} pts below α=0)`, align: 'right' as const, dy: -9 },
    { x: 1, y: atOne.naturalAccuracy, label: `paper ${atOne.naturalAccuracy} (Table 1, D_R)`, align: 'right' as const, dy: 16 },
  ];
  const alphaScale = { domain: [0, 1], nice: false, padding: 8 };
  const left = {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    title: { text: 'ResNet-50: natural and robust accuracy', fontSize: 13 },
    layer: [
      lineLayer('left', AXIS.alpha, AXIS.accuracy, { scale: colorScale(leftLabels), legend: { title: 'ResNet-50' } }, alphaScale),
      {
        data: { values: anchors.map(({ x, y }) => ({ x, y })) },
        mark: { type: 'point' as const, shape: 'diamond', size: 110, filled: true, color: '#222', stroke: 'white', strokeWidth: 1, opacity: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } },
      },
      ...anchors.map((a) => ({
        data: { values: [{ x: a.x, y: a.y }] },
        mark: { type: 'text' as const, align: a.align, baseline: 'bottom' as const, dx: a.align === 'left' ? 4 : -4, dy: a.dy, fontSize: 10, color: '#222' },
        encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const }, text: { value: a.label } },
      })),
    ],
  };
  const rightSeries = models.flatMap((m) => rightAttacks.map((a) => `${m}, ${seriesLabel(a)}`));
  // One hue per model, darker for ε = 0.25 and lighter for 0.5; PGD solid or dashed, AutoAttack dotted.
  const light = (a: string) => aaPartner(a) === 'l2-0.5';
  const dash = (a: string) => (isAutoAttack(a) ? AA_DASH[aaPartner(a)]! : MODEL_DASH[a]!);
  const right = {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    title: { text: rightAttacks.some(isAutoAttack) ? 'L2-PGD and AutoAttack across architectures' : 'L2-PGD across architectures', fontSize: 13 },
    transform: [{ filter: { field: 'panel', equal: 'right' } }],
    mark: { type: 'line' as const, strokeWidth: 2, point: { size: 28, filled: true } },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: AXIS.alpha, scale: alphaScale },
      y: { field: 'y', type: 'quantitative' as const, title: AXIS.accuracy, scale: { domain: [0, 100] } },
      color: {
        field: 'series',
        type: 'nominal' as const,
        scale: {
          domain: rightSeries,
          range: models.flatMap((_, i) => rightAttacks.map((a) => (light(a) ? shade(PALETTE[i % PALETTE.length]!) : PALETTE[i % PALETTE.length]!))),
        },
        legend: { title: 'model, attack' },
      },
      strokeDash: {
        field: 'series',
        type: 'nominal' as const,
        scale: { domain: rightSeries, range: models.flatMap(() => rightAttacks.map(dash)) },
      },
      order: { field: 'order', type: 'quantitative' as const },
      href: HREF,
    },
  };
  const title = 'Figure 3 — training on D_mix(α): accuracy vs mix ratio α';
  const spec = {
    ...baseSpec(title, profile, ["α = 0: only D; α = 1: only D_R. Diamonds: the paper's natural accuracies (CIFAR-10)"]),
    data: { values: plain(points) },
    hconcat: [left, right],
    resolve: { scale: { color: 'independent' as const, strokeDash: 'independent' as const } },
  } as TopLevelSpec;
  return {
    id: 'fig3',
    title,
    profile,
    points,
    spec,
    claims: figure3Claims(results),
    numbers: mixNumbers(results, leftAttacks, rightAttacks),
    ...(defence && defence.length > 0 ? { defence } : {}),
  };
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** A lighter version of a #rrggbb colour (mixed halfway to white). */
function shade(hex: string): string {
  const v = [1, 3, 5].map((i) => Math.round((parseInt(hex.slice(i, i + 2), 16) + 255) / 2));
  return `#${v.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
