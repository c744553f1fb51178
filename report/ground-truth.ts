/**
 * The ground-truth report (reports/<profile>/ground-truth.md, .csv, .svg, .png): on the synthetic
 * planted-feature set, which feature every model of the paper's three questions actually uses
 * (ml/probe/reliance.ts), and what the built D_R / D_NR carry (ml/probe/built-set-quality.ts).
 * The paper can only infer feature use from attack success rates; where it prints a number for
 * the same model (natural accuracy in Table 1, Ilyas et al.'s D_NR) that number stands beside
 * ours, elsewhere the column says "not measurable in the paper". Each question gets a sentence
 * stating what the numbers answer, derived from them here, not written by hand.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../base/atomic-write.ts';
import type { BuiltSetReport } from '../ml/probe/built-set-quality.ts';
import type { FeatureReliance } from '../ml/probe/reliance.ts';
import { drVerdict, NOT_IN_PAPER, qualityRows } from './dataset-quality.ts';
import { trainingColumn, type Augmentation, type TrainingDataset } from './labels.ts';
import { PAPER_TABLE1 } from './paper.ts';
import { checkProfile, profileTag, syntheticBanner, type ProfileInfo } from './profile.ts';
import { writeFigureFiles, type RenderOptions, type WrittenFigure } from './render.ts';

export type ProbeSubject =
  | { readonly kind: 'q1'; readonly step: number }
  | { readonly kind: 'q2'; readonly model: string; readonly alpha: number }
  | {
      readonly kind: 'q3';
      readonly family: string;
      readonly backbone: string;
      readonly lr: number;
      readonly dataset: TrainingDataset;
      readonly augmentation: Augmentation;
    }
  | { readonly kind: 'fA' }
  | { readonly kind: 'dnr'; readonly variant: 'det' | 'rand' };

export interface ProbedModel {
  readonly subject: ProbeSubject;
  /** The probe node, then the model's node. */
  readonly nodes: readonly string[];
  readonly reliance: FeatureReliance;
}

/** One attack evaluation of a probed model (Figures 1-3's points), for the method-against-truth section. */
export interface AttackPoint {
  readonly subject:
    { readonly kind: 'q1'; readonly step: number } | { readonly kind: 'q2'; readonly model: string; readonly alpha: number } | { readonly kind: 'fA' };
  readonly attack: string;
  readonly naturalAccuracy: number;
  readonly robustAccuracy: number;
  readonly asr: number | null;
}

export interface GroundTruthInput {
  readonly profile: ProfileInfo;
  readonly probes: readonly ProbedModel[];
  /** The evaluations of Figures 1-3 on the same models (absent: no method-against-truth section). */
  readonly attacks?: readonly AttackPoint[];
  readonly qualities: readonly { readonly node: string; readonly report: BuiltSetReport }[];
  /** Set where ground truth cannot be measured (real data): the reason, shown instead of numbers. */
  readonly unavailable?: string;
}

/**
 * Ilyas et al.'s CIFAR-10 natural test accuracy of standard models trained on their constructed
 * datasets, as MadryLab's constructed-datasets README gives them (rounded): D_det 44 %, D_rand
 * 63 %, and the non-robust dataset D_NR (built by matching a standard model's representation, not
 * by targeted attacks) 88 %. Our D_det and D_rand are their D_det and D_rand.
 */
export const ILYAS_NATURAL = { det: 44, rand: 63, nonRobustDataset: 88 } as const;

const CHANCE_FACTOR = 2;
const pct = (v: number) => (100 * v).toFixed(1);
const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (c) => `\\${c}`);
const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const MEASURES = [
  { key: 'natural', label: 'natural accuracy', get: (r: FeatureReliance) => r.naturalAccuracy },
  { key: 'conflict-robust', label: 'conflict: follows robust', get: (r: FeatureReliance) => r.conflict.followsRobust },
  { key: 'conflict-nonrobust', label: 'conflict: follows non-robust', get: (r: FeatureReliance) => r.conflict.followsNonRobust },
  { key: 'conflict-neither', label: 'conflict: neither', get: (r: FeatureReliance) => r.conflict.neither },
  { key: 'robust-only', label: 'robust only: accuracy', get: (r: FeatureReliance) => r.robustOnly.accuracy },
  { key: 'nonrobust-only', label: 'non-robust only: accuracy', get: (r: FeatureReliance) => r.nonRobustOnly.accuracy },
] as const;

export function subjectLabel(s: ProbeSubject): string {
  switch (s.kind) {
    case 'q1':
      return `Q1 snapshot, step ${s.step}`;
    case 'q2':
      return `${s.model}, α = ${s.alpha}`;
    case 'q3':
      return `${s.family} (${s.backbone}, lr ${s.lr}), ${trainingColumn(s.dataset, s.augmentation)}`;
    case 'fA':
      return 'f_A (adversarially trained, builds D_R)';
    case 'dnr':
      return `trained on D_NR (D_${s.variant})`;
  }
}

/** The paper's natural accuracy for the same model, where it prints one. */
function paperNatural(s: ProbeSubject): number | undefined {
  if (s.kind === 'q3') {
    const fam = (PAPER_TABLE1 as Readonly<Record<string, (typeof PAPER_TABLE1)['STN']>>)[s.family];
    return fam?.none[trainingColumn(s.dataset, s.augmentation)];
  }
  if (s.kind === 'dnr') return ILYAS_NATURAL[s.variant];
  return undefined;
}

function of<K extends ProbeSubject['kind']>(probes: readonly ProbedModel[], kind: K): (ProbedModel & { subject: Extract<ProbeSubject, { kind: K }> })[] {
  return probes.filter((p) => p.subject.kind === kind) as (ProbedModel & { subject: Extract<ProbeSubject, { kind: K }> })[];
}

/** Q1: which feature's probe rises above chance first. */
export function q1Answer(probes: readonly ProbedModel[], numClasses = 10): string {
  const snaps = of(probes, 'q1').sort((a, b) => a.subject.step - b.subject.step);
  if (snaps.length === 0) return 'no Q1 snapshots were probed.';
  const bar = CHANCE_FACTOR / numClasses;
  const onset = (get: (r: FeatureReliance) => number) => snaps.find((s) => get(s.reliance) >= bar)?.subject.step;
  const r = onset((x) => x.robustOnly.accuracy);
  const nr = onset((x) => x.nonRobustOnly.accuracy);
  const where = `(onset: the first snapshot whose robust-only / non-robust-only accuracy reaches ${pct(bar)} %, ${CHANCE_FACTOR}× chance)`;
  const last = snaps.at(-1)!.reliance;
  const end = `At the last snapshot (step ${snaps.at(-1)!.subject.step}) conflict images follow the robust feature ${pct(last.conflict.followsRobust)} % and the non-robust one ${pct(last.conflict.followsNonRobust)} % of the time.`;
  if (r === undefined && nr === undefined) return `neither feature is used above chance at any snapshot ${where}. ${end}`;
  if (nr === undefined) return `the robust feature only: from step ${r}; the non-robust one never rises above chance ${where}. ${end}`;
  if (r === undefined) return `the non-robust feature only: from step ${nr}; the robust one never rises above chance ${where}. ${end}`;
  if (r === nr) return `both from the start: both features are used from step ${r} on, the same snapshot (the paper's conclusion) ${where}. ${end}`;
  if (r < nr)
    return `robust first: the robust feature from step ${r}, the non-robust one only from step ${nr} (the hypothesis the paper tests) ${where}. ${end}`;
  return `non-robust first: the non-robust feature from step ${nr}, the robust one only from step ${r} ${where}. ${end}`;
}

/** Q2: per model, the conflict share following the robust feature at the smallest and largest α. */
export function q2Answer(probes: readonly ProbedModel[]): string[] {
  const mix = of(probes, 'q2');
  const models = [...new Set(mix.map((p) => p.subject.model))].sort();
  return models.map((m) => {
    const runs = mix.filter((p) => p.subject.model === m).sort((a, b) => a.subject.alpha - b.subject.alpha);
    const first = runs[0]!;
    const lastRun = runs.at(-1)!;
    const a = first.reliance.conflict.followsRobust;
    const b = lastRun.reliance.conflict.followsRobust;
    const trend = runs.length < 2 ? 'is measured at one α only' : b > a + 0.05 ? 'rises with α' : b < a - 0.05 ? 'falls with α' : 'stays flat with α';
    const series = runs.map((p) => `${pct(p.reliance.conflict.followsRobust)} % at α = ${p.subject.alpha}`).join(', ');
    return `${m}: the share of conflict images following the robust feature ${trend} (${series}).`;
  });
}

function drExplanation(input: GroundTruthInput): string | undefined {
  const dr = input.qualities.find((q) => q.report.construction === 'D_R');
  if (!dr) return undefined;
  const q = dr.report.quality;
  return (
    `The D_R these models mix in (${dr.node}) shows the label's robust pattern in ${pct(q.robustIsLabel)} % of its images and the label's non-robust pattern in ${pct(q.nonRobustIsLabel)} % ` +
    `(chance ${pct(q.labelIsSource)} %); it ${drVerdict(dr.report)}. ` +
    (q.robustIsLabel < 0.8
      ? 'Where the robust pattern is missing, D_R teaches no robust feature, so mixing it in cannot move a model toward the robust feature or robust accuracy.'
      : q.nonRobustIsLabel > 0.2
        ? "Where the label's non-robust pattern survives, D_R still rewards the non-robust shortcut."
        : 'D_R carries the robust feature and breaks the non-robust one, as Ilyas et al. intend.')
  );
}

/**
 * Why robust reliance falls with α although D_R is good, where it does: the α = 0 models had no
 * non-robust reliance for D_R to replace (their conflict images follow p_t at about chance), and
 * the images of D_R whose robust pattern is another class's are label noise on the feature they use.
 */
export function q2Why(input: GroundTruthInput, numClasses = 10): string | undefined {
  const mix = of(input.probes, 'q2');
  const dr = input.qualities.find((q) => q.report.construction === 'D_R')?.report.quality;
  if (!dr || dr.robustIsLabel < 0.8 || dr.nonRobustIsLabel > 0.2) return undefined;
  const models = [...new Set(mix.map((p) => p.subject.model))].sort();
  const falling = models.filter((m) => {
    const runs = mix.filter((p) => p.subject.model === m).sort((a, b) => a.subject.alpha - b.subject.alpha);
    return runs.length > 1 && runs.at(-1)!.reliance.conflict.followsRobust < runs[0]!.reliance.conflict.followsRobust - 0.05;
  });
  if (falling.length === 0) return undefined;
  const atZero = mix.filter((p) => p.subject.alpha === 0 && falling.includes(p.subject.model));
  if (atZero.length === 0) return undefined;
  const maxNonRobust = Math.max(...atZero.map((p) => p.reliance.conflict.followsNonRobust));
  const noise = 1 - dr.robustIsLabel;
  const none = maxNonRobust < CHANCE_FACTOR / numClasses;
  return (
    `Why it falls for ${falling.join(', ')} although D_R is good: ` +
    (none
      ? `at α = 0 these models follow the non-robust feature on at most ${pct(maxNonRobust)} % of conflict images (below ${CHANCE_FACTOR}× chance), so there is no non-robust reliance for D_R to replace; `
      : `at α = 0 these models follow the non-robust feature on up to ${pct(maxNonRobust)} % of conflict images; `) +
    `what D_R adds is ${pct(noise)} % of images whose robust pattern is another class's than their label, label noise on the very feature the models use, so reliance on it and the accuracy it gives fall as α grows.`
  );
}

/** Whether the built D_NR carries what it should: the target's non-robust pattern over the source's robust one. */
export function dnrWhy(input: GroundTruthInput, numClasses = 10): string | undefined {
  const dnr = input.qualities.find((q) => q.report.construction !== 'D_R');
  if (!dnr) return undefined;
  const q = dnr.report.quality;
  if (q.nonRobustIsLabel >= 0.5) return undefined;
  // Only an explanation of failure: where the model trained on this set generalises, p_t was planted
  // enough for training even if the closed-form read-out does not see it as the strongest pattern.
  const variant = dnr.report.construction === 'D_rand' ? 'rand' : 'det';
  if (of(input.probes, 'dnr').some((p) => p.subject.variant === variant && p.reliance.naturalAccuracy >= CHANCE_FACTOR / numClasses)) return undefined;
  return (
    `The reason is in ${dnr.node}: ${dnr.report.construction} shows its target label's non-robust pattern in only ${pct(q.nonRobustIsLabel)} % of its images and keeps the source's in ${pct(q.nonRobustIsSource)} % ` +
    `(its robust pattern is still the source's in ${pct(q.robustIsSource)} %). The targeted attack that builds it did not plant p_t, so what a model learns from it is the source's robust pattern under the target's label` +
    (q.robustIsSource >= 0.5 ? ', which on natural images predicts the wrong class.' : '.')
  );
}

export function q3Answer(probes: readonly ProbedModel[]): string | undefined {
  const runs = of(probes, 'q3');
  if (runs.length === 0) return undefined;
  const mean = (xs: ProbedModel[]) => xs.reduce((s, p) => s + p.reliance.conflict.followsRobust, 0) / Math.max(1, xs.length);
  const onD = runs.filter((p) => p.subject.dataset === 'D');
  const onR = runs.filter((p) => p.subject.dataset === 'D_R');
  if (onD.length === 0 || onR.length === 0) return undefined;
  return `Table 1's models trained on D_R follow the robust feature on ${pct(mean(onR))} % of conflict images on average, those trained on D on ${pct(mean(onD))} %.`;
}

export function dnrAnswer(probes: readonly ProbedModel[], numClasses = 10): string | undefined {
  const d = of(probes, 'dnr');
  if (d.length === 0) return undefined;
  return d
    .map((p) => {
      const acc = p.reliance.naturalAccuracy;
      const generalises = acc >= CHANCE_FACTOR / numClasses;
      return (
        `A model trained on D_${p.subject.variant} alone reaches ${pct(acc)} % natural accuracy on the natural test set (Ilyas et al., CIFAR-10: D_${p.subject.variant} ${ILYAS_NATURAL[p.subject.variant]} %; the seed paper could not reproduce their D_NR): ` +
        (generalises ? 'non-robust features alone generalise here.' : 'non-robust features alone do not generalise here.') +
        ` It follows the non-robust feature on ${pct(p.reliance.conflict.followsNonRobust)} % of conflict images.`
      );
    })
    .join(' ');
}

function relianceTable(title: string, rows: readonly ProbedModel[], withPaper: boolean): string[] {
  const out = [`### ${title}`, ''];
  const head = ['model', ...MEASURES.map((m) => m.label), ...(withPaper ? ['paper: natural accuracy'] : []), 'nodes'];
  out.push(`| ${head.map(mdEscape).join(' | ')} |`, `|---|${MEASURES.map(() => '---:').join('|')}|${withPaper ? '---:|' : ''}---|`);
  for (const p of rows) {
    const paper = paperNatural(p.subject);
    out.push(
      `| ${mdEscape(subjectLabel(p.subject))} | ${MEASURES.map((m) => pct(m.get(p.reliance))).join(' | ')} |${withPaper ? ` ${paper === undefined ? NOT_IN_PAPER : String(paper)} |` : ''} ${p.nodes.map((n) => `\`${n}\``).join(' ')} |`,
    );
  }
  out.push(
    '',
    `Reliance measures: ${NOT_IN_PAPER}. Conflict images: ${rows[0]?.reliance.conflict.count ?? 0} per model; non-robust-only images: ${rows[0]?.reliance.nonRobustOnly.count ?? 0}.`,
    '',
  );
  return out;
}

/**
 * The models trained the standard way on D whose reliance defines the regime: Q1's last snapshot,
 * Q2 at α = 0 and Table 1's ResNet-50 on D. Table 1's G-ResNet, STN and PTN are built for spatial
 * invariance; whether they pick up a feature is itself a finding, so they are reported, not counted.
 */
export function standardModels(probes: readonly ProbedModel[]): ProbedModel[] {
  const q1 = of(probes, 'q1').sort((a, b) => a.subject.step - b.subject.step);
  return [
    ...q1.slice(-1),
    ...of(probes, 'q2').filter((p) => p.subject.alpha === 0),
    ...of(probes, 'q3').filter((p) => p.subject.dataset === 'D' && p.subject.family === 'ResNet-50'),
  ];
}

export type Regime = 'present' | 'partial' | 'absent';

/** Share of conflict images following p at or above which standard training is said to rely on it. */
export const RELIANCE_PRESENT = 0.5;

/**
 * The world's regime, from the probes of its standard models: non-robust reliance is `present`
 * where on average at least half their conflict images follow the non-robust feature, `absent`
 * below twice chance, `partial` between.
 */
export function worldRegime(
  probes: readonly ProbedModel[],
  numClasses = 10,
): { regime: Regime; mean: number; min: number; max: number; nonRobustOnly: number; models: number } | undefined {
  const std = standardModels(probes);
  if (std.length === 0) return undefined;
  const shares = std.map((p) => p.reliance.conflict.followsNonRobust);
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  const nonRobustOnly = std.reduce((a, p) => a + p.reliance.nonRobustOnly.accuracy, 0) / std.length;
  const regime: Regime = mean >= RELIANCE_PRESENT ? 'present' : mean >= CHANCE_FACTOR / numClasses ? 'partial' : 'absent';
  return { regime, mean, min: Math.min(...shares), max: Math.max(...shares), nonRobustOnly, models: std.length };
}

/** The one-line statement of the regime that stands beside the synthetic-data banner. */
export function regimeLine(probes: readonly ProbedModel[], numClasses = 10): string | undefined {
  const r = worldRegime(probes, numClasses);
  if (!r) return undefined;
  const head = { present: 'non-robust reliance present', partial: 'non-robust reliance partial', absent: 'non-robust reliance absent' }[r.regime];
  return (
    `World regime (measured): ${head} — standard models (${r.models} probed: Q1's last snapshot, Q2 at α = 0, Table 1's ResNet-50 on D) follow the non-robust feature on ${pct(r.mean)} % of conflict images on average ` +
    `(${pct(r.min)}-${pct(r.max)} %; chance ${pct(1 / numClasses)} %), and reach ${pct(r.nonRobustOnly)} % on images only the non-robust feature labels correctly.`
  );
}

/**
 * The world's premise, measured (issue 31's bars): do standard models rely on the non-robust
 * feature and break under small L2 attacks while f_A and D_R-trained models do not, does D_R
 * carry the robust feature only, do non-robust features alone generalise (D_rand)? One row per
 * bar, with the value and whether it is met; rows whose models were not run are left out.
 */
export function premiseRows(input: GroundTruthInput): { readonly check: string; readonly bar: string; readonly measured: string; readonly met: boolean }[] {
  const rows: { check: string; bar: string; measured: string; met: boolean }[] = [];
  const std = standardModels(input.probes);
  const list = (xs: readonly { label: string; v: number }[]) => xs.map((x) => `${x.label} ${pct(x.v)} %`).join('; ');
  const named = std.map((p) => ({ p, label: subjectLabel(p.subject) }));
  if (named.length) {
    const follows = named.map(({ p, label }) => ({ label, v: p.reliance.conflict.followsNonRobust }));
    const nro = named.map(({ p, label }) => ({ label, v: p.reliance.nonRobustOnly.accuracy }));
    const nat = named.map(({ p, label }) => ({ label, v: p.reliance.naturalAccuracy }));
    rows.push({ check: '1. standard models follow p on conflict images', bar: '≥ 50 % each', measured: list(follows), met: follows.every((x) => x.v >= 0.5) });
    rows.push({ check: '1. standard models: non-robust-only accuracy', bar: '≥ 60 % each', measured: list(nro), met: nro.every((x) => x.v >= 0.6) });
    rows.push({ check: '5. standard models: natural accuracy', bar: '≥ 85 % each', measured: list(nat), met: nat.every((x) => x.v >= 0.85) });
  }
  const attacks = input.attacks ?? [];
  const l2 = [...new Set(attacks.filter((a) => a.attack.startsWith('l2-')).map((a) => a.attack))].sort();
  const robustAt = (pred: (a: AttackPoint) => boolean, attack: string) => attacks.find((a) => a.attack === attack && pred(a))?.robustAccuracy;
  const q2Models = [...new Set(of(input.probes, 'q2').map((p) => p.subject.model))].sort();
  for (const attack of l2) {
    const zero = q2Models
      .map((m) => ({ label: `${m}, α = 0`, v: robustAt((a) => a.subject.kind === 'q2' && a.subject.model === m && a.subject.alpha === 0, attack) }))
      .filter((x): x is { label: string; v: number } => x.v !== undefined);
    if (zero.length)
      rows.push({
        check: `2. brittle: α = 0 models' robust accuracy under ${attack}`,
        bar: '≤ 20 % each',
        measured: list(zero),
        met: zero.every((x) => x.v <= 0.2),
      });
    const fA = robustAt((a) => a.subject.kind === 'fA', attack);
    if (fA !== undefined) rows.push({ check: `2. f_A's robust accuracy under ${attack}`, bar: '≥ 60 %', measured: `${pct(fA)} %`, met: fA >= 0.6 });
    const gains = q2Models
      .map((m) => {
        const at0 = robustAt((a) => a.subject.kind === 'q2' && a.subject.model === m && a.subject.alpha === 0, attack);
        const at1 = robustAt((a) => a.subject.kind === 'q2' && a.subject.model === m && a.subject.alpha === 1, attack);
        return { label: `${m}, α = 1 minus α = 0`, v: at0 === undefined || at1 === undefined ? undefined : at1 - at0 };
      })
      .filter((x): x is { label: string; v: number } => x.v !== undefined);
    if (gains.length)
      rows.push({
        check: `3. a model trained on D_R alone (α = 1) is robust under ${attack}`,
        bar: '≥ +30 points over α = 0',
        measured: gains.map((g) => `${g.label} ${g.v >= 0 ? '+' : ''}${(100 * g.v).toFixed(1)} points`).join('; '),
        met: gains.every((g) => g.v >= 0.3),
      });
  }
  const dr = input.qualities.find((q) => q.report.construction === 'D_R')?.report.quality;
  if (dr) {
    rows.push({ check: "3. D_R shows the label's robust pattern", bar: '≥ 80 %', measured: `${pct(dr.robustIsLabel)} %`, met: dr.robustIsLabel >= 0.8 });
    rows.push({
      check: "3. D_R shows the label's non-robust pattern",
      bar: '≤ 20 %',
      measured: `${pct(dr.nonRobustIsLabel)} %`,
      met: dr.nonRobustIsLabel <= 0.2,
    });
  }
  for (const d of of(input.probes, 'dnr')) {
    const v = d.reliance.naturalAccuracy;
    if (d.subject.variant === 'rand')
      rows.push({
        check: '4. a model trained on D_rand alone: natural accuracy',
        bar: `≥ 50 % (Ilyas et al., CIFAR-10: ${ILYAS_NATURAL.rand} %)`,
        measured: `${pct(v)} %`,
        met: v >= 0.5,
      });
    else
      rows.push({
        check: '4. a model trained on D_det alone: natural accuracy (reported)',
        bar: `none (Ilyas et al., CIFAR-10: ${ILYAS_NATURAL.det} %)`,
        measured: `${pct(v)} %`,
        met: true,
      });
  }
  return rows;
}

/** Pearson correlation; undefined where either series is constant or shorter than 3. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = xs.length;
  if (n < 3 || ys.length !== n) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  if (sxx < 1e-12 || syy < 1e-12) return undefined;
  return sxy / Math.sqrt(sxx * syy);
}

const TRACKS = 0.5;
const fmtR = (r: number | undefined) => (r === undefined ? 'not computable' : r.toFixed(2));

/**
 * Q1, the paper's method against the truth: per snapshot the ASRs Figures 1-2 plot beside the
 * measured non-robust reliance, and whether "ASR rises with natural accuracy" (the paper's
 * evidence of rising non-robust use) goes with a measured rise of that use.
 */
export function q1MethodVsTruth(input: GroundTruthInput, numClasses = 10): string[] {
  const snaps = of(input.probes, 'q1').sort((a, b) => a.subject.step - b.subject.step);
  const pts = (input.attacks ?? []).filter((a) => a.subject.kind === 'q1' && a.attack !== 'none');
  if (snaps.length === 0 || pts.length === 0) return [];
  const attacks = [...new Set(pts.map((a) => a.attack))];
  const asrAt = (step: number, attack: string) => pts.find((a) => a.subject.kind === 'q1' && a.subject.step === step && a.attack === attack)?.asr ?? null;
  const out = ['### Q1: attack success rates (Figures 1-2) beside the measured non-robust reliance', ''];
  const head = ['step', 'natural accuracy', ...attacks.map((a) => `ASR ${a}`), 'conflict: follows non-robust', 'non-robust only: accuracy'];
  out.push(`| ${head.map(mdEscape).join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
  for (const s of snaps) {
    const r = s.reliance;
    out.push(
      `| ${s.subject.step} | ${pct(r.naturalAccuracy)} | ${attacks.map((a) => (asrAt(s.subject.step, a) === null ? '—' : pct(asrAt(s.subject.step, a)!))).join(' | ')} | ${pct(r.conflict.followsNonRobust)} | ${pct(r.nonRobustOnly.accuracy)} |`,
    );
  }
  out.push('');
  const bar = CHANCE_FACTOR / numClasses;
  const onset = snaps.find((s) => s.reliance.nonRobustOnly.accuracy >= bar && s.reliance.conflict.followsNonRobust >= bar)?.subject.step;
  const natural = snaps.map((s) => s.reliance.naturalAccuracy);
  const reliance = snaps.map((s) => s.reliance.conflict.followsNonRobust);
  const relianceVsNatural = pearson(natural, reliance);
  const relianceRises = relianceVsNatural !== undefined && relianceVsNatural >= TRACKS;
  const words: string[] = [
    onset === undefined
      ? `Measured onset of non-robust reliance: none — no snapshot has both its non-robust-only accuracy and its conflict share following p at ${pct(bar)} % (${CHANCE_FACTOR}× chance) or above.`
      : `Measured onset of non-robust reliance: step ${onset}, the first snapshot whose non-robust-only accuracy and conflict share following p both reach ${pct(bar)} % (${CHANCE_FACTOR}× chance); the first snapshot is step ${snaps[0]!.subject.step}.`,
    `Across the ${snaps.length} snapshots, measured non-robust reliance (conflict share following p) correlates with natural accuracy at r = ${fmtR(relianceVsNatural)}.`,
  ];
  for (const a of attacks) {
    const rows = snaps
      .map((s) => ({ asr: asrAt(s.subject.step, a), natural: s.reliance.naturalAccuracy, reliance: s.reliance.conflict.followsNonRobust }))
      .filter((x) => x.asr !== null);
    const asrVsNatural = pearson(
      rows.map((x) => x.natural),
      rows.map((x) => x.asr!),
    );
    const asrVsReliance = pearson(
      rows.map((x) => x.reliance),
      rows.map((x) => x.asr!),
    );
    const asrRises = asrVsNatural !== undefined && asrVsNatural >= TRACKS;
    const verdict = !asrRises
      ? "the paper's premise does not hold for this attack here (its ASR does not rise with natural accuracy), so it infers nothing"
      : relianceRises
        ? "the paper's inference agrees with the probes: ASR rises with natural accuracy and so does the measured non-robust reliance"
        : "the paper's inference disagrees with the probes: ASR rises with natural accuracy while the measured non-robust reliance does not";
    words.push(`${a}: ASR against natural accuracy r = ${fmtR(asrVsNatural)}, against measured non-robust reliance r = ${fmtR(asrVsReliance)}; ${verdict}.`);
  }
  out.push(words.join(' '), '');
  return out;
}

/**
 * Q2, the paper's method against the truth: per model, robust accuracy under each L2 attack
 * across α (Figure 3) beside the measured share of conflict images following the robust feature.
 */
export function q2MethodVsTruth(input: GroundTruthInput): string[] {
  const mix = of(input.probes, 'q2');
  const pts = (input.attacks ?? []).filter((a) => a.subject.kind === 'q2' && a.attack !== 'none');
  if (mix.length === 0 || pts.length === 0) return [];
  const out = ['### Q2: robust accuracy under attack (Figure 3) beside the measured robust reliance', ''];
  const models = [...new Set(mix.map((p) => p.subject.model))].sort();
  const words: string[] = [];
  for (const m of models) {
    const runs = mix.filter((p) => p.subject.model === m).sort((a, b) => a.subject.alpha - b.subject.alpha);
    const mine = pts.filter((a) => a.subject.kind === 'q2' && a.subject.model === m);
    const attacks = [...new Set(mine.map((a) => a.attack))].filter((a) => a.startsWith('l2-'));
    if (attacks.length === 0) continue;
    const acc = (alpha: number, attack: string) =>
      mine.find((a) => a.subject.kind === 'q2' && a.subject.alpha === alpha && a.attack === attack)?.robustAccuracy;
    const head = ['α', 'natural accuracy', ...attacks.map((a) => `robust accuracy ${a}`), 'conflict: follows robust'];
    out.push(`**${mdEscape(m)}**`, '', `| ${head.map(mdEscape).join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
    for (const r of runs) {
      out.push(
        `| ${r.subject.alpha} | ${pct(r.reliance.naturalAccuracy)} | ${attacks.map((a) => (acc(r.subject.alpha, a) === undefined ? '—' : pct(acc(r.subject.alpha, a)!))).join(' | ')} | ${pct(r.reliance.conflict.followsRobust)} |`,
      );
    }
    out.push('');
    for (const a of attacks) {
      const rows = runs.map((r) => ({ acc: acc(r.subject.alpha, a), share: r.reliance.conflict.followsRobust })).filter((x) => x.acc !== undefined);
      const r = pearson(
        rows.map((x) => x.share),
        rows.map((x) => x.acc!),
      );
      const first = rows[0];
      const last = rows.at(-1);
      const moves = (d: number) => (d > 0.05 ? 'rises' : d < -0.05 ? 'falls' : 'stays flat');
      const accMove = first && last ? moves(last.acc! - first.acc!) : 'stays flat';
      const shareMove = first && last ? moves(last.share - first.share) : 'stays flat';
      const verdict =
        r === undefined
          ? 'no correlation can be computed (fewer than 3 α or a constant series)'
          : r >= TRACKS
            ? 'robust accuracy tracks the measured robust reliance, as the paper reads it'
            : r <= -TRACKS
              ? 'robust accuracy moves against the measured robust reliance: reading one from the other would mislead'
              : 'robust accuracy does not track the measured robust reliance';
      words.push(
        `${m}, ${a}: from α = ${runs[0]!.subject.alpha} to ${runs.at(-1)!.subject.alpha} robust accuracy ${accMove} and the share following the robust feature ${shareMove} (r = ${fmtR(r)} over ${rows.length} α); ${verdict}.`,
      );
    }
  }
  if (words.length === 0) return [];
  out.push(words.join(' '), '');
  return out;
}

export interface GroundTruthPoint {
  readonly panel: 'steps' | 'natural' | 'alpha';
  readonly series: string;
  readonly x: number;
  readonly y: number;
  readonly order: number;
}

const Q1_SERIES = [
  { label: 'conflict: follows robust', get: (r: FeatureReliance) => r.conflict.followsRobust },
  { label: 'conflict: follows non-robust', get: (r: FeatureReliance) => r.conflict.followsNonRobust },
  { label: 'robust-only accuracy', get: (r: FeatureReliance) => r.robustOnly.accuracy },
  { label: 'non-robust-only accuracy', get: (r: FeatureReliance) => r.nonRobustOnly.accuracy },
] as const;

export function groundTruthPoints(probes: readonly ProbedModel[]): GroundTruthPoint[] {
  const points: GroundTruthPoint[] = [];
  of(probes, 'q1')
    .sort((a, b) => a.subject.step - b.subject.step)
    .forEach((p, order) => {
      for (const s of Q1_SERIES) {
        const y = 100 * s.get(p.reliance);
        points.push({ panel: 'steps', series: s.label, x: p.subject.step, y, order });
        points.push({ panel: 'natural', series: s.label, x: 100 * p.reliance.naturalAccuracy, y, order });
      }
    });
  for (const p of of(probes, 'q2')) {
    points.push({
      panel: 'alpha',
      series: `${p.subject.model}: follows robust`,
      x: p.subject.alpha,
      y: 100 * p.reliance.conflict.followsRobust,
      order: p.subject.alpha,
    });
    points.push({
      panel: 'alpha',
      series: `${p.subject.model}: follows non-robust`,
      x: p.subject.alpha,
      y: 100 * p.reliance.conflict.followsNonRobust,
      order: p.subject.alpha,
    });
  }
  return points;
}

export const GROUND_TRUTH_TITLE = 'Ground truth — which planted feature the models use';

export function groundTruthSpec(input: GroundTruthInput): TopLevelSpec {
  const points = groundTruthPoints(input.probes);
  const panel = (key: GroundTruthPoint['panel'], title: string, xTitle: string, xScale: object) => ({
    width: 300,
    height: 240,
    title: { text: title, fontSize: 13 },
    transform: [{ filter: { field: 'panel', equal: key } }],
    mark: { type: 'line' as const, strokeWidth: 2, point: { size: 28, filled: true } },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: xTitle, scale: xScale },
      y: { field: 'y', type: 'quantitative' as const, title: 'share of test images (%)', scale: { domain: [0, 100] } },
      color: { field: 'series', type: 'nominal' as const, legend: { title: key === 'alpha' ? 'Q2 model' : 'Q1 probe' } },
      order: { field: 'order', type: 'quantitative' as const },
    },
  });
  const subtitle = [profileTag(input.profile) + (input.profile.description ? ` — ${input.profile.description}` : '')];
  if (input.profile.synthetic) subtitle.push('SYNTHETIC DATA (planted-feature set): feature use measured exactly; the paper can only infer it from ASR');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 16,
    title: { text: GROUND_TRUTH_TITLE, subtitle, anchor: 'start', offset: 14 },
    config: {
      font: 'sans-serif',
      title: { fontSize: 16, subtitleFontSize: 11, subtitleColor: '#444', subtitlePadding: 6 },
      axis: { titleFontSize: 12, labelFontSize: 11, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
      legend: { titleFontSize: 11, labelFontSize: 11, symbolType: 'stroke', symbolStrokeWidth: 2.5, labelLimit: 300 },
      view: { stroke: '#bbb' },
      concat: { spacing: 30 },
    },
    data: { values: points.map((p) => ({ ...p })) },
    hconcat: [
      {
        vconcat: [
          panel('steps', 'Q1 (beside Figures 1-2): vs training iterations', 'training iterations', { zero: true }),
          panel('natural', 'Q1: vs natural accuracy', 'natural accuracy (%)', { zero: false }),
        ],
      },
      panel('alpha', 'Q2 (beside Figure 3): conflict images vs α', 'mix ratio α', { domain: [0, 1], nice: false, padding: 8 }),
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

export function groundTruthMarkdown(input: GroundTruthInput, files?: WrittenFigure): string {
  checkProfile(input.profile, 'ground-truth');
  const out = [`# ${GROUND_TRUTH_TITLE}`, ''];
  const banner = syntheticBanner(input.profile);
  if (banner) out.push(`> **⚠ ${banner}**`, '');
  const regime = input.unavailable ? undefined : regimeLine(input.probes);
  if (regime) out.push(`> ${regime}`, '');
  out.push(`Profile: \`${input.profile.name}\`${input.profile.description ? ` — ${input.profile.description}` : ''}.`, '');
  if (input.unavailable) {
    out.push(input.unavailable, '');
    return out.join('\n');
  }
  out.push(
    "On the synthetic planted-feature set every image carries a robust pattern (its class's, or with probability 1 − robustReliability another class's, recorded) and its label's non-robust pattern p_y, " +
      'so feature use is measured, not inferred. Probes on the test set: **conflict** — p_y swapped for p_t, t ≠ y (an L2 change of √2·‖p‖, inside the L2 attack budget: 0.49 for the colour casts of norm 0.35 of the demo world, 0.21 for the gratings of norm 0.15 of the control world), on images showing their own robust pattern: the share predicted y (follows robust), t (follows non-robust) or neither; ' +
      '**robust only** — p_y removed, accuracy against the robust class shown; **non-robust only** — the images whose robust pattern belongs to another class, accuracy against the label only p_y carries. All values in %.',
    '',
  );
  if (files) {
    const svg = files.svgPath.split('/').pop()!;
    out.push(
      files.pngPath ? `![${GROUND_TRUTH_TITLE}](${files.pngPath.split('/').pop()!})` : `![${GROUND_TRUTH_TITLE}](${svg})`,
      '',
      `Vector version: [${svg}](${svg}).`,
      '',
    );
    for (const w of files.warnings) out.push(`> ${w}`, '');
  }
  const premise = premiseRows(input);
  if (premise.length) {
    out.push(
      "## The world's premise, measured",
      '',
      "Whether this world is one where Ilyas et al.'s account holds: standard models rely on the non-robust feature and break under small L2 attacks, robust training and D_R do not, and the non-robust feature alone generalises. These fix the premise, not the answers below.",
      '',
      '| check | bar | measured | met |',
      '|---|---|---|---|',
      ...premise.map((r) => `| ${mdEscape(r.check)} | ${mdEscape(r.bar)} | ${mdEscape(r.measured)} | ${r.met ? 'yes' : '**no**'} |`),
      '',
    );
  }
  out.push('## What the numbers answer', '');
  out.push(`- **Q1** (does training use the robust feature first and the non-robust one later?): ${q1Answer(input.probes)}`);
  const q2 = q2Answer(input.probes);
  if (q2.length)
    out.push(
      `- **Q2** (does mixing in D_R move models to the robust feature?): ${[...q2, drExplanation(input), q2Why(input)].filter((x) => x !== undefined).join(' ')}`,
    );
  const q3 = q3Answer(input.probes);
  if (q3) out.push(`- **Q3** (Table 1's models): ${q3}`);
  const dnr = dnrAnswer(input.probes);
  if (dnr) out.push(`- **D_NR** (beyond the paper): ${[dnr, dnrWhy(input)].filter((x) => x !== undefined).join(' ')}`);
  out.push('');
  const method = [...q1MethodVsTruth(input), ...q2MethodVsTruth(input)];
  if (method.length)
    out.push(
      "## The paper's method against the truth (beyond the paper)",
      '',
      'The paper infers feature use from attack success rates and robust accuracy; here the probes measure it on the same models. ' +
        `Correlations are Pearson's r over the snapshots (Q1) or the α values (Q2); |r| ≥ ${TRACKS} counts as tracking.`,
      '',
      ...method,
    );
  if (input.qualities.length) {
    out.push('## Built datasets: which patterns they carry', '');
    for (const q of input.qualities) {
      out.push(
        `### ${q.report.construction} (\`${q.node}\`, ${q.report.quality.count} images)`,
        '',
        '| measure | ideal | ours | paper |',
        '|---|---|---:|---|',
      );
      for (const row of qualityRows(q.report))
        out.push(
          `| ${mdEscape(row.measure)} | ${mdEscape(row.ideal)} | ${row.unit === '%' ? `${row.ours.toFixed(1)} %` : row.ours.toFixed(3)} | ${NOT_IN_PAPER} |`,
        );
      out.push('');
    }
  }
  out.push('## Feature reliance of every model', '');
  const sections: [string, ProbedModel[], boolean][] = [
    ['Q1: the snapshots of Figures 1-2', of(input.probes, 'q1').sort((a, b) => a.subject.step - b.subject.step), false],
    [
      'Q2: the D_mix(α) models of Figure 3',
      of(input.probes, 'q2').sort((a, b) => a.subject.model.localeCompare(b.subject.model) || a.subject.alpha - b.subject.alpha),
      false,
    ],
    ["Q3: Table 1's models", of(input.probes, 'q3'), true],
    ['D_NR and f_A', [...of(input.probes, 'dnr'), ...of(input.probes, 'fA')], true],
  ];
  for (const [title, rows, paper] of sections) if (rows.length) out.push(...relianceTable(title, rows, paper));
  return out.join('\n');
}

export const GROUND_TRUTH_CSV_HEADER = ['report', 'profile', 'synthetic', 'experiment', 'subject', 'measure', 'ours', 'paper', 'nodes'] as const;

/** One line per (model or dataset, measure), values in %; `paper` empty where the paper has no number. */
export function groundTruthCsv(input: GroundTruthInput): string {
  const lines = [GROUND_TRUTH_CSV_HEADER.join(',')];
  const line = (experiment: string, subject: string, measure: string, ours: number, paper: number | undefined, nodes: readonly string[]) =>
    lines.push(
      [
        'ground-truth',
        input.profile.name,
        String(input.profile.synthetic),
        experiment,
        subject,
        measure,
        String(ours),
        paper === undefined ? '' : String(paper),
        nodes.join(' '),
      ]
        .map(csvField)
        .join(','),
    );
  for (const q of input.qualities) {
    for (const row of qualityRows(q.report)) line('dataset', q.report.construction, row.key, row.ours, undefined, [q.node]);
  }
  for (const p of input.probes) {
    for (const m of MEASURES)
      line(p.subject.kind, subjectLabel(p.subject), m.key, 100 * m.get(p.reliance), m.key === 'natural' ? paperNatural(p.subject) : undefined, p.nodes);
  }
  return lines.join('\n') + '\n';
}

export function groundTruthText(input: GroundTruthInput): string {
  const out = [`${GROUND_TRUTH_TITLE} — profile ${input.profile.name}`];
  const banner = syntheticBanner(input.profile);
  if (banner) out.push(`!! ${banner}`);
  out.push('report: reports/ground-truth.md');
  if (input.unavailable) return [...out, `  ${input.unavailable}`].join('\n') + '\n';
  const regime = regimeLine(input.probes);
  if (regime) out.push(`  ${regime}`);
  out.push(`  Q1: ${q1Answer(input.probes)}`);
  for (const l of q2Answer(input.probes)) out.push(`  Q2: ${l}`);
  const why = q2Why(input);
  if (why) out.push(`  Q2: ${why}`);
  const q3 = q3Answer(input.probes);
  if (q3) out.push(`  Q3: ${q3}`);
  const dnr = dnrAnswer(input.probes);
  if (dnr) out.push(`  D_NR: ${[dnr, dnrWhy(input)].filter((x) => x !== undefined).join(' ')}`);
  return out.join('\n') + '\n';
}

/** Writes `<dir>/ground-truth.md`, `.csv`, `.txt` and (with probes) `.svg` / `.png`. */
export async function writeGroundTruthReport(input: GroundTruthInput, dir: string, options: RenderOptions = {}): Promise<void> {
  const files = input.unavailable || input.probes.length === 0 ? undefined : await writeFigureFiles(groundTruthSpec(input), join(dir, 'ground-truth'), options);
  const md = join(dir, 'ground-truth.md');
  writeFileAtomic(md, groundTruthMarkdown(input, files));
  writeFileAtomic(join(dir, 'ground-truth.csv'), groundTruthCsv(input));
  writeFileAtomic(join(dir, 'ground-truth.txt'), groundTruthText(input));
}
