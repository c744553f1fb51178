/**
 * The quality of a built D_R or D_NR on the synthetic set (ml/probe/built-set-quality.ts) as a
 * report: which planted pattern its images carry, beside what an ideal construction gives. The
 * paper cannot measure this (CIFAR-10's features are unknown), so its column says so.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../base/atomic-write.ts';
import type { BuiltSetReport } from '../ml/probe/built-set-quality.ts';
import { syntheticBanner, type ProfileInfo } from './profile.ts';

export const NOT_IN_PAPER = 'not measurable in the paper';

/** The demo's bar for a D_R that answers for the right reason (issue 15). */
export const GOOD_DR = { robustIsLabel: 0.8, nonRobustIsLabel: 0.2 } as const;

export interface QualityRow {
  readonly key: string;
  readonly measure: string;
  readonly ideal: string;
  /** Percentage, or a plain number for mean scores. */
  readonly ours: number;
  readonly unit: '%' | 'score';
}

const pct = (v: number) => 100 * v;

export function qualityRows(r: BuiltSetReport): QualityRow[] {
  const q = r.quality;
  const chance = `≈ ${pct(q.labelIsSource).toFixed(1)} % (label = x′'s class by chance)`;
  const rows: QualityRow[] =
    r.construction === 'D_R'
      ? [
          { key: 'robust-is-label', measure: 'robust pattern matches the label', ideal: '≈ 100 %', ours: pct(q.robustIsLabel), unit: '%' },
          { key: 'nonrobust-is-label', measure: 'non-robust pattern matches the label', ideal: chance, ours: pct(q.nonRobustIsLabel), unit: '%' },
          { key: 'nonrobust-is-source', measure: 'non-robust pattern matches the start image x′', ideal: '≈ 100 %', ours: pct(q.nonRobustIsSource), unit: '%' },
          { key: 'robust-is-source', measure: 'robust pattern matches the start image x′', ideal: chance, ours: pct(q.robustIsSource), unit: '%' },
          {
            key: 'score-label',
            measure: "mean share of the label's p_y present (s_y)",
            ideal: '≈ 0 (≈ 1 where label = x′)',
            ours: q.meanNonRobustScoreLabel,
            unit: 'score',
          },
          { key: 'score-source', measure: "mean share of x′'s p present (s_x′)", ideal: '≈ 1', ours: q.meanNonRobustScoreSource, unit: 'score' },
        ]
      : [
          { key: 'robust-is-source', measure: 'robust pattern matches the source image', ideal: '≈ 100 %', ours: pct(q.robustIsSource), unit: '%' },
          {
            key: 'robust-is-label',
            measure: 'robust pattern matches the (target) label',
            ideal: '≈ 0 % (D_det) / ≈ 10 % (D_rand)',
            ours: pct(q.robustIsLabel),
            unit: '%',
          },
          { key: 'nonrobust-is-label', measure: 'non-robust pattern matches the (target) label', ideal: '≈ 100 %', ours: pct(q.nonRobustIsLabel), unit: '%' },
          { key: 'nonrobust-is-source', measure: "non-robust pattern still the source's", ideal: '≈ 0 %', ours: pct(q.nonRobustIsSource), unit: '%' },
          { key: 'score-label', measure: "mean share of the target's p_t present (s_t)", ideal: '≈ 1', ours: q.meanNonRobustScoreLabel, unit: 'score' },
          { key: 'score-source', measure: "mean share of the source's p_y left (s_y)", ideal: '≈ 0', ours: q.meanNonRobustScoreSource, unit: 'score' },
        ];
  rows.push(
    { key: 'readout-robust', measure: 'robust readout accuracy on the base images (its ceiling)', ideal: '100 %', ours: pct(r.readout.robust), unit: '%' },
    { key: 'readout-nonrobust', measure: 'non-robust readout accuracy on the base images', ideal: '100 %', ours: pct(r.readout.nonRobust), unit: '%' },
  );
  return rows;
}

/** One line: does this D_R meet the demo's bar? */
export function drVerdict(r: BuiltSetReport): string | undefined {
  if (r.construction !== 'D_R') return undefined;
  const ok = r.quality.robustIsLabel >= GOOD_DR.robustIsLabel && r.quality.nonRobustIsLabel <= GOOD_DR.nonRobustIsLabel;
  return `${ok ? 'meets' : 'misses'} the bar of a good D_R (robust pattern = label for ≥ ${pct(GOOD_DR.robustIsLabel)} %, non-robust = label for ≤ ${pct(GOOD_DR.nonRobustIsLabel)} %)`;
}

const fmt = (row: QualityRow) => (row.unit === '%' ? `${row.ours.toFixed(1)} %` : row.ours.toFixed(3));
const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (c) => `\\${c}`);
const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export interface QualityReportInput {
  /** File stem, e.g. `dr-quality`. */
  readonly id: string;
  readonly report: BuiltSetReport;
  readonly profile: ProfileInfo;
  /** The node that built the set. */
  readonly builtBy: string;
}

export function qualityTitle(r: BuiltSetReport): string {
  return `${r.construction} quality — which planted features the built images carry`;
}

export function qualityMarkdown(q: QualityReportInput): string {
  const out = [`# ${qualityTitle(q.report)}`, ''];
  const banner = syntheticBanner(q.profile);
  if (banner) out.push(`> **⚠ ${banner}**`, '');
  out.push(
    `Profile: \`${q.profile.name}\`${q.profile.description ? ` — ${q.profile.description}` : ''}. Built by \`${q.builtBy}\`, ${q.report.quality.count} images.`,
    '',
  );
  out.push(
    "Each image's robust class is read as its best-correlated robust template, its non-robust class as its largest projection on the planted p_k. " +
      `The paper has no such numbers: on CIFAR-10 the features are unknown (${NOT_IN_PAPER}).`,
    '',
  );
  out.push('| measure | ideal | ours | paper |', '|---|---|---:|---|');
  for (const row of qualityRows(q.report)) out.push(`| ${mdEscape(row.measure)} | ${mdEscape(row.ideal)} | ${fmt(row)} | ${NOT_IN_PAPER} |`);
  out.push('');
  const verdict = drVerdict(q.report);
  if (verdict) out.push(`This D_R ${verdict}.`, '');
  return out.join('\n');
}

export function qualityCsv(q: QualityReportInput): string {
  const lines = ['report,profile,synthetic,construction,measure,ideal,ours,unit,paper,nodes'];
  for (const row of qualityRows(q.report)) {
    lines.push(
      [q.id, q.profile.name, String(q.profile.synthetic), q.report.construction, row.key, row.ideal, String(row.ours), row.unit, '', q.builtBy]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export function qualityText(q: QualityReportInput): string {
  const out = [`${qualityTitle(q.report)} — profile ${q.profile.name}, ${q.report.quality.count} images from ${q.builtBy}`];
  const banner = syntheticBanner(q.profile);
  if (banner) out.push(`!! ${banner}`);
  const rows = qualityRows(q.report);
  const w = Math.max(...rows.map((r) => [...r.measure].length));
  for (const r of rows) out.push(`  ${r.measure.padEnd(w)}  ${fmt(r).padStart(8)}   (ideal ${r.ideal})`);
  const verdict = drVerdict(q.report);
  if (verdict) out.push(`  => ${verdict}`);
  return out.join('\n') + '\n';
}

/** Writes `<dir>/<id>.md`, `.csv` and `.txt` atomically. */
export function writeQualityReport(q: QualityReportInput, dir: string): void {
  writeFileAtomic(join(dir, `${q.id}.md`), qualityMarkdown(q));
  writeFileAtomic(join(dir, `${q.id}.csv`), qualityCsv(q));
  writeFileAtomic(join(dir, `${q.id}.txt`), qualityText(q));
}
