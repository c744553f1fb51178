/**
 * Question 2's defence check: each D_mix(α) model under PGD beside AutoAttack at the same budget.
 * A defence whose PGD accuracy is well above its AutoAttack accuracy got its PGD number from a
 * gradient PGD could not use (gradient masking), not from robustness (docs/attacks.md).
 */
/** Above this many points of PGD accuracy over AutoAttack accuracy, the row says "gradient masking?". */
export const MASKING_GAP_POINTS = 5;

/** One evaluation as the check needs it. */
export interface CheckedEvaluation {
  readonly attack: string;
  /** The attack's settings in words (describeAttack). */
  readonly description: string;
  readonly robustAccuracy: number;
  /** Per image, 1 where it stayed right ('0'/'1' string over the evaluated subset), when recorded. */
  readonly robustMask?: string;
  /** AutoAttack: images each component broke. */
  readonly brokenBy?: Readonly<Record<string, number>>;
}

export interface DefenceRow {
  readonly model: string;
  readonly alpha: number;
  readonly pgd: CheckedEvaluation;
  readonly autoAttack: CheckedEvaluation;
  /** PGD accuracy minus AutoAttack accuracy, in points. */
  readonly gapPoints: number;
  /** The component that broke the most images ('' if none broke any). */
  readonly topComponent: string;
  /** Images PGD broke and AutoAttack did not (null when a mask is missing or the subsets differ). */
  readonly pgdOnly: number | null;
  readonly flagged: boolean;
}

/** The PGD preset an AutoAttack preset is checked against: `aa-l2-0.5-lite` -> `l2-0.5`. */
export function pgdPartner(attack: string): string | null {
  const m = /^aa-(.+?)(-lite)?$/.exec(attack);
  return m ? m[1]! : null;
}

function countPgdOnly(pgd?: string, aa?: string): number | null {
  if (pgd === undefined || aa === undefined || pgd.length !== aa.length) return null;
  let n = 0;
  for (let i = 0; i < pgd.length; i++) if (pgd[i] === '0' && aa[i] === '1') n++;
  return n;
}

/** Pairs every AutoAttack evaluation of a model and α with its PGD partner. */
export function defenceRows(runs: readonly { model: string; alpha: number; evaluations: readonly CheckedEvaluation[] }[]): DefenceRow[] {
  const rows: DefenceRow[] = [];
  for (const run of runs) {
    for (const aa of run.evaluations) {
      const partner = pgdPartner(aa.attack);
      const pgd = partner === null ? undefined : run.evaluations.find((e) => e.attack === partner);
      if (pgd === undefined) continue;
      // Rounded to 1e-9 points: 0.27 - 0.22 is 5.000000000000004 points in floating point, which
      // would flag a gap of exactly 5 that the table prints as 5.0.
      const gapPoints = Math.round((pgd.robustAccuracy - aa.robustAccuracy) * 100 * 1e9) / 1e9;
      const top = Object.entries(aa.brokenBy ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
      rows.push({
        model: run.model,
        alpha: run.alpha,
        pgd,
        autoAttack: aa,
        gapPoints,
        topComponent: top && top[1] > 0 ? top[0] : '',
        pgdOnly: countPgdOnly(pgd.robustMask, aa.robustMask),
        flagged: gapPoints > MASKING_GAP_POINTS,
      });
    }
  }
  return rows.sort((a, b) => a.model.localeCompare(b.model) || a.alpha - b.alpha || a.autoAttack.attack.localeCompare(b.autoAttack.attack));
}

const pct = (v: number) => (v * 100).toFixed(1);

function verdict(r: DefenceRow): string {
  if (r.flagged) return `gap above ${MASKING_GAP_POINTS} points: a sign of gradient masking (PGD overstates robustness)`;
  return r.gapPoints < 0 ? 'AutoAttack weaker than PGD here (see images PGD breaks and AutoAttack does not)' : 'consistent';
}

export const DEFENCE_CSV_HEADER = [
  'model',
  'alpha',
  'pgd_attack',
  'autoattack',
  'pgd_accuracy',
  'autoattack_accuracy',
  'gap_points',
  'top_component',
  'top_component_broke',
  'pgd_only',
  'verdict',
] as const;

export function defenceCsvRows(rows: readonly DefenceRow[]): string[][] {
  return rows.map((r) => [
    r.model,
    String(r.alpha),
    r.pgd.attack,
    r.autoAttack.attack,
    pct(r.pgd.robustAccuracy),
    pct(r.autoAttack.robustAccuracy),
    r.gapPoints.toFixed(1),
    r.topComponent,
    r.topComponent ? String(r.autoAttack.brokenBy?.[r.topComponent] ?? 0) : '0',
    r.pgdOnly === null ? '' : String(r.pgdOnly),
    verdict(r),
  ]);
}

/** The Markdown section: the table, the settings in words, and the flagged rows spelled out. */
export function defenceMarkdown(rows: readonly DefenceRow[]): string[] {
  if (rows.length === 0) return [];
  const out = ['## Defence check: PGD beside AutoAttack', ''];
  out.push(
    `Per model and α, accuracy (%) under PGD and under AutoAttack at the same ε; the gap is PGD minus AutoAttack in points. ` +
      `A gap above ${MASKING_GAP_POINTS} points is flagged as a sign of gradient masking. ` +
      `"PGD only" counts the images PGD broke and AutoAttack did not (expected near zero: a large count says a component is weaker than it should be).`,
    '',
    '| model | α | PGD | AutoAttack | PGD acc. | AA acc. | gap (pts) | most breaks by | PGD only | verdict |',
    '|---|---:|---|---|---:|---:|---:|---|---:|---|',
  );
  for (const [i, r] of defenceCsvRows(rows).entries()) {
    const row = rows[i]!;
    out.push(
      `| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} | ${r[4]} | ${r[5]} | ${r[6]} | ${row.topComponent ? `${r[7]} (${r[8]})` : '—'} | ${r[9] || 'n/a'} | ${row.flagged ? '**' + r[10] + '**' : r[10]} |`,
    );
  }
  out.push('', 'Attack settings:', '');
  const seen = new Set<string>();
  for (const r of rows) {
    for (const e of [r.pgd, r.autoAttack]) {
      if (seen.has(e.attack)) continue;
      seen.add(e.attack);
      out.push(`- \`${e.attack}\`: ${e.description}`);
    }
  }
  const flagged = rows.filter((r) => r.flagged);
  out.push(
    '',
    flagged.length === 0
      ? `No model's PGD accuracy exceeds its AutoAttack accuracy by more than ${MASKING_GAP_POINTS} points.`
      : `Flagged (${flagged.length}): ${flagged.map((r) => `${r.model} at α=${r.alpha} (${r.autoAttack.attack}, ${r.gapPoints.toFixed(1)} points)`).join('; ')}.`,
    '',
  );
  return out;
}
