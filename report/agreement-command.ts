/**
 * The `agreement <other-root>` verb: the same profile run in two roots (typically one per backend,
 * since the backend is not part of node keys), every evaluate, probe and dataset-quality node that
 * is up to date in both compared figure by figure within report/agreement.ts's tolerance. Exits 1
 * when a figure is outside it.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadProject, type GlobalOpts, type Loaded } from '../engine/cli/program.ts';
import type { Project } from '../engine/core/project.ts';
import { UserError } from '../engine/core/result.ts';
import { upToDate, type UpToDate } from '../engine/plan/up-to-date.ts';
import { compareResults, summarise, AGREEMENT_Z, type InputRelation, type NodeAgreement } from './agreement.ts';

export const COMPARED_STAGES: ReadonlySet<string> = new Set(['evaluate', 'probe', 'dataset-quality']);

interface Side {
  readonly loaded: Loaded;
  readonly state: UpToDate;
}

async function openSide(project: Project, g: GlobalOpts, root: string, ids: readonly string[] | undefined): Promise<Side> {
  const loaded = await loadProject(project, { ...g, root });
  const wanted = ids ?? [...loaded.graph.nodes.values()].filter((n) => COMPARED_STAGES.has(n.spec.stage.name)).map((n) => n.spec.id);
  return { loaded, state: await upToDate(project, loaded.ws, loaded.graph, wanted) };
}

async function resultOf(side: Side, id: string): Promise<unknown> {
  const ref = side.state.outputs.get(id)?.['result'];
  if (!ref) return undefined;
  const path = await side.loaded.ws.store.materialize(ref);
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function relationOf(a: Side, b: Side, id: string): InputRelation {
  const digests = (s: Side) => {
    const key = s.state.keys.get(id);
    return key === undefined
      ? ''
      : s.loaded.ws.db
          .edges(key)
          .map((e) => `${e.input}=${e.digest}`)
          .join(' ');
  };
  return digests(a) === digests(b) ? 'same-inputs' : 'retrained';
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

export function agreementText(results: readonly NodeAgreement[], labels: { a: string; b: string }, missing: readonly string[]): string {
  const s = summarise(results);
  const lines = [
    `A = ${labels.a}`,
    `B = ${labels.b}`,
    `${s.nodes} nodes up to date on both sides: ${s.identical} identical, ${s.withinTolerance} within tolerance, ${s.outside.length} outside`,
    `tolerance: same inputs 1 image; retrained inputs ${AGREEMENT_Z}·√(2p(1−p)/n) + 1/n (docs/gpu.md)`,
  ];
  for (const r of results) {
    const differing = r.figures.filter((f) => f.a !== f.b);
    if (differing.length === 0 && r.unmatched.length === 0 && r.undefinedOnOneSide.length === 0) continue;
    const bad = differing.some((f) => !f.within) || r.unmatched.length > 0;
    lines.push(`${bad ? 'OUTSIDE' : 'within '}  ${r.node} (${r.relation})`);
    for (const f of differing) {
      lines.push(
        `    ${f.within ? ' ' : '!'} ${f.path}: ${pct(f.a)} vs ${pct(f.b)} (n ${f.n === f.nB ? f.n : `${f.n} vs ${f.nB}`}, |Δ| ${pct(Math.abs(f.a - f.b))} ≤ ${pct(f.tolerance)}?)`,
      );
    }
    for (const p of r.unmatched) lines.push(`    ! ${p}: on one side only, or over other counts`);
    for (const p of r.undefinedOnOneSide) lines.push(`      ${p}: undefined on one side (no image naturally right there; its natural accuracy is judged)`);
  }
  if (missing.length > 0) lines.push(`not compared (not up to date on one side): ${missing.length}, e.g. ${missing.slice(0, 3).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function addAgreementCommand(program: Command, project: Project): void {
  program
    .command('agreement')
    .description("this root's evaluations against another root's (e.g. another backend's run), within a stated tolerance")
    .argument('<other-root>', 'the other project root (its params.yaml must define the same profile)')
    .argument('[nodes...]', 'node ids to compare (default: every evaluate, probe and dataset-quality node)')
    .action(async (other: string, nodes: string[]) => {
      const g = program.opts<GlobalOpts>();
      const ids = nodes.length > 0 ? nodes : undefined;
      const a = await openSide(project, g, resolve(g.root), ids);
      try {
        const b = await openSide(project, g, resolve(other), ids);
        try {
          const shared = [...a.state.outputs.keys()].filter((id) => b.state.outputs.has(id)).sort();
          if (shared.length === 0) throw new UserError(`no evaluate, probe or dataset-quality node is up to date in both ${g.root} and ${other}`);
          const results: NodeAgreement[] = [];
          for (const id of shared) {
            const ra = await resultOf(a, id);
            const rb = await resultOf(b, id);
            if (ra === undefined || rb === undefined) continue;
            results.push(compareResults(id, ra, rb, relationOf(a, b, id)));
          }
          const all = new Set([...a.state.outputs.keys(), ...a.state.missing, ...b.state.missing]);
          const missing = [...all].filter((id) => !shared.includes(id)).sort();
          process.stdout.write(agreementText(results, { a: resolve(g.root), b: resolve(other) }, missing));
          if (summarise(results).outside.length > 0) process.exitCode = 1;
        } finally {
          b.loaded.ws.close();
        }
      } finally {
        a.loaded.ws.close();
      }
    });
}
