import { mkdirSync, readFileSync } from 'node:fs';
import type { StageResult } from '../../engine/core/stage.ts';
import type { BuiltSetReport } from '../../ml/probe/built-set-quality.ts';
import type { FeatureReliance } from '../../ml/probe/reliance.ts';
import { readEvaluation } from '../../report/evaluation-file.ts';
import { writeGroundTruthReport } from '../../report/ground-truth.ts';
import type { GroundTruthContext } from '../ground-truth.ts';

export async function runGroundTruth(ctx: GroundTruthContext): Promise<StageResult> {
  const p = ctx.params;
  if (p.probes.length !== ctx.inputs.probes.length || p.qualities.length !== ctx.inputs.qualities.length) {
    throw new Error(
      `ground-truth: ${p.probes.length} probes / ${p.qualities.length} qualities described for ${ctx.inputs.probes.length} / ${ctx.inputs.qualities.length} inputs`,
    );
  }
  const readJson = <T>(path: string, node: string, check: (v: Record<string, unknown>) => boolean): T => {
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`ground-truth: the result of ${node} (${path}) is not JSON: ${(e as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || !check(v as Record<string, unknown>))
      throw new Error(`ground-truth: the result of ${node} (${path}) is not of the expected kind`);
    return v as T;
  };
  const probes = p.probes.map((d, i) => ({
    ...d,
    reliance: readJson<FeatureReliance>(
      ctx.inputs.probes[i]!,
      d.nodes[0]!,
      (v) => typeof v['naturalAccuracy'] === 'number' && typeof v['conflict'] === 'object',
    ),
  }));
  const qualities = p.qualities.map((d, i) => ({
    node: d.node,
    report: readJson<BuiltSetReport>(ctx.inputs.qualities[i]!, d.node, (v) => typeof v['construction'] === 'string' && typeof v['quality'] === 'object'),
  }));
  const evals = ctx.inputs.evals;
  if (p.attacks.length !== evals.length) throw new Error(`ground-truth: ${p.attacks.length} attack points described for ${evals.length} evaluation inputs`);
  const attacks = p.attacks.map((a, i) => {
    const r = readEvaluation(evals[i]!, a.node);
    return { subject: a.subject, attack: a.attack, naturalAccuracy: r.naturalAccuracy, robustAccuracy: r.robustAccuracy, asr: r.asr };
  });
  mkdirSync(ctx.outputs.report, { recursive: true });
  await writeGroundTruthReport(
    { profile: p.profile, probes, qualities, attacks, ...(p.unavailable ? { unavailable: p.unavailable } : {}) },
    ctx.outputs.report,
  );
  return { metrics: { probes: probes.length, qualities: qualities.length } };
}
