/**
 * The ground-truth report's section on what the attacks' successful examples changed (synthetic
 * data): for Figure 3's models, and f_A, per attack, the share of broken images whose adversarial
 * example carries the predicted class's non-robust pattern or shows its robust pattern
 * (ml/probe/attack-moves.ts), PGD beside its AutoAttack partner at the same budget.
 */
import type { AttackMoves } from '../ml/probe/attack-moves.ts';
import { pgdPartner } from './defence-check.ts';

export interface MovedPoint {
  readonly subject: { readonly kind: string; readonly model?: string; readonly alpha?: number };
  readonly attack: string;
  readonly moved?: AttackMoves;
}

const pct = (k: number, n: number) => (n === 0 ? '—' : ((100 * k) / n).toFixed(1));
const mdEscape = (s: string) => s.replace(/[\\|*_`]/g, (c) => `\\${c}`);

/** The attack a row is grouped under: an AutoAttack preset under its PGD partner, which comes first. */
const groupOf = (attack: string) => pgdPartner(attack) ?? attack;

function subjectLabel(s: MovedPoint['subject']): { model: string; alpha: string } {
  return s.kind === 'q2' ? { model: s.model ?? '?', alpha: String(s.alpha) } : { model: s.kind === 'fA' ? 'f_A (adversarially trained)' : s.kind, alpha: '—' };
}

export function attackMovesMarkdown(points: readonly MovedPoint[]): string[] {
  const rows = points.filter((p) => p.moved !== undefined && (p.subject.kind === 'q2' || p.subject.kind === 'fA'));
  if (rows.length === 0) return [];
  const sorted = [...rows].sort((a, b) => {
    const [la, lb] = [subjectLabel(a.subject), subjectLabel(b.subject)];
    return (
      la.model.localeCompare(lb.model) ||
      (a.subject.alpha ?? -1) - (b.subject.alpha ?? -1) ||
      groupOf(a.attack).localeCompare(groupOf(b.attack)) ||
      Number(a.attack.startsWith('aa-')) - Number(b.attack.startsWith('aa-')) ||
      a.attack.localeCompare(b.attack)
    );
  });
  const out = [
    "### What the attacks' successful examples changed (Figure 3's models, beyond the paper)",
    '',
    'For every image an attack broke (right untouched, wrong after), the closed-form readouts of its adversarial example: ' +
      "whether it carries the predicted class's non-robust pattern (largest s_k), shows that class's robust pattern (best-correlated template), or neither; " +
      "and how much of the predicted class's non-robust pattern was planted (mean s_pred after minus before; 1 = all of it). " +
      "If the models lean on the non-robust feature, the attacks' examples should move it, not the robust one; an AutoAttack preset sits under its PGD partner. Shares in %.",
    '',
    '| model | α | attack | broken | → non-robust of prediction | → robust of prediction | neither | p planted |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const p of sorted) {
    const m = p.moved!;
    const s = subjectLabel(p.subject);
    out.push(
      `| ${mdEscape(s.model)} | ${s.alpha} | ${mdEscape(p.attack)} | ${m.broken} | ${pct(m.nonRobustToPrediction, m.broken)} | ${pct(m.robustToPrediction, m.broken)} | ${pct(m.neither, m.broken)} | ${m.broken ? m.meanPlanted.toFixed(2) : '—'} |`,
    );
  }
  out.push('');
  // Pooled over every model and α: PGD's examples beside AutoAttack's.
  const pool = (pred: (attack: string) => boolean) => {
    const ms = rows.filter((p) => p.subject.kind === 'q2' && pred(p.attack)).map((p) => p.moved!);
    const broken = ms.reduce((t, m) => t + m.broken, 0);
    return { broken, nonRobust: ms.reduce((t, m) => t + m.nonRobustToPrediction, 0), robust: ms.reduce((t, m) => t + m.robustToPrediction, 0) };
  };
  const pgd = pool((a) => !a.startsWith('aa-'));
  const aa = pool((a) => a.startsWith('aa-'));
  const words = (name: string, v: ReturnType<typeof pool>) =>
    v.broken === 0
      ? `${name} broke no image`
      : `${name}'s ${v.broken} successful examples carry the predicted class's non-robust pattern in ${pct(v.nonRobust, v.broken)} % and show its robust pattern in ${pct(v.robust, v.broken)} %`;
  if (pgd.broken + aa.broken > 0) out.push(`Pooled over Figure 3's models and α: ${words('PGD', pgd)}; ${words('AutoAttack', aa)}.`, '');
  return out;
}
