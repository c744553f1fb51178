import { z } from 'zod';
import { defineStage } from '../engine/core/stage.ts';
import { profileInfoSchema } from './table.ts';

/**
 * The ground-truth report (report/ground-truth.ts): gathers every probe result (Q1 snapshots, Q2
 * D_mix models, Table 1's models, f_A, the D_NR model) and the D_R / D_NR quality results, and
 * writes ground-truth.md, .csv, .svg, .png and .txt. On real data there are no probes and the
 * report says why.
 */
const subject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('q1'), step: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('q2'), model: z.string().min(1), alpha: z.number().min(0).max(1) }).strict(),
  z
    .object({
      kind: z.literal('q3'),
      family: z.string().min(1),
      backbone: z.string().min(1),
      lr: z.number().positive(),
      dataset: z.enum(['D', 'D_R']),
      augmentation: z.enum(['std', 'std*']),
    })
    .strict(),
  z.object({ kind: z.literal('fA') }).strict(),
  z.object({ kind: z.literal('dnr'), variant: z.enum(['det', 'rand']) }).strict(),
]);

export const groundTruthParams = z
  .object({
    profile: profileInfoSchema,
    /** Aligned with the `probes` inputs. */
    probes: z.array(z.object({ subject, nodes: z.array(z.string().min(1)).min(1) }).strict()),
    /** Aligned with the `qualities` inputs: the dataset-quality node of each. */
    qualities: z.array(z.object({ node: z.string().min(1) }).strict()),
    /** Aligned with the `evals` inputs: Figures 1-3's evaluations of probed models. */
    attacks: z
      .array(
        z
          .object({
            subject: z.discriminatedUnion('kind', [
              z.object({ kind: z.literal('q1'), step: z.number().int().min(0) }).strict(),
              z.object({ kind: z.literal('q2'), model: z.string().min(1), alpha: z.number().min(0).max(1) }).strict(),
              z.object({ kind: z.literal('fA') }).strict(),
            ]),
            attack: z.string().min(1),
            node: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
    unavailable: z.string().min(1).optional(),
  })
  .strict();

export type GroundTruthParams = z.input<typeof groundTruthParams>;

export const groundTruth = defineStage({
  name: 'ground-truth',
  version: 1,
  module: import.meta.url,
  description: 'the ground-truth report: measured feature reliance and D_R / D_NR quality (synthetic data)',
  params: groundTruthParams,
  inputs: {
    probes: { kind: 'file', many: true, description: 'probe results, aligned with params.probes' },
    qualities: { kind: 'file', many: true, description: 'dataset-quality results, aligned with params.qualities' },
    evals: { kind: 'file', many: true, description: 'evaluate results of Figures 1-3, aligned with params.attacks' },
  },
  outputs: { report: { kind: 'dir', description: 'ground-truth.md, .csv, .svg, .png and .txt' } },
  estimateSeconds: () => 5,
  async run(ctx) {
    const { mkdirSync, readFileSync } = await import('node:fs');
    const { writeGroundTruthReport } = await import('../report/ground-truth.ts');
    type FeatureReliance = import('../ml/probe/reliance.ts').FeatureReliance;
    type BuiltSetReport = import('../ml/probe/built-set-quality.ts').BuiltSetReport;

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
    const { readEvaluation } = await import('../report/evaluation-file.ts');
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
  },
});
