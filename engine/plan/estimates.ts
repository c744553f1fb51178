import { digestOf } from '../core/canonical-json.ts';
import { pathLengths } from './critical-path.ts';
import type { LineageDb } from '../state/db.ts';
import type { NodeSpec } from '../core/project.ts';
import type { AnyStage, EstimateHints } from '../core/stage.ts';

/**
 * Plan estimates calibrated by what this machine measured. A stage's `estimateSeconds` is a
 * formula; every execution records that formula's value (`work`), its similarity keys and the
 * estimate context (e.g. the backend) in its environment. A new node's estimate is its formula
 * times the median measured/formula ratio of the most specific similar executions: identical
 * params first, then the stage's own keys in order. Without any, the formula stands alone, and
 * the plan says so.
 */

/** What an execution records about its estimate (environment.estimate in SQLite). */
export interface EstimateRecord {
  readonly work: number;
  readonly similar: readonly string[];
  readonly context: string;
  /** The graph's hints for the node: with the execution's params they re-evaluate today's formula. */
  readonly hints?: EstimateHints;
}

export interface Estimate {
  readonly seconds: number;
  /** Measurements behind the calibration; 0 means the stage's formula alone. */
  readonly samples: number;
  /** Which similarity key calibrated it (`same params` or the stage's key). */
  readonly basis: string | undefined;
}

/** At most this many recent measurements per key: a machine's speed drifts (load, upgrades). */
const RECENT = 5;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The similarity keys of a node, most specific first, namespaced by stage. */
function similarityKeys(stage: AnyStage, params: unknown, hints: EstimateHints): string[] {
  const own = stage.similarity?.(params, hints) ?? [];
  return [`params:${digestOf({ params, hints })}`, ...own.map((k) => `key:${k}`)].map((k) => `${stage.name}|${k}`);
}

/** The stage's formula for a node, where it gives a usable number of seconds. */
function formulaSeconds(spec: NodeSpec, params: unknown): number | undefined {
  const work = spec.stage.estimateSeconds?.(params, spec.estimateHints ?? {});
  return work === undefined || !(work > 0) || !Number.isFinite(work) ? undefined : work;
}

/** The estimate of a plan with no measurements to calibrate it: the stage's formula alone. */
export function formulaEstimate(spec: NodeSpec, params: unknown): Estimate | undefined {
  const seconds = formulaSeconds(spec, params);
  return seconds === undefined ? undefined : { seconds, samples: 0, basis: undefined };
}

export class Estimator {
  private ratios: Map<string, number[]> | undefined;

  private readonly stages: ReadonlyMap<string, AnyStage>;

  constructor(
    private readonly db: LineageDb,
    /** The context this run's nodes will run in; only measurements made in it calibrate. */
    private readonly context: string,
    /**
     * The project's stages: a measurement is divided by the formula as it is now, evaluated at the
     * measured node's params, so refitting a formula does not skew every calibration made before.
     */
    stages: readonly AnyStage[] = [],
  ) {
    this.stages = new Map(stages.map((s) => [s.name, s]));
  }

  /** What to record with an execution of this node, so later plans can learn from it. */
  record(spec: NodeSpec, params: unknown): EstimateRecord | undefined {
    const work = formulaSeconds(spec, params);
    if (work === undefined) return undefined;
    const hints = spec.estimateHints ?? {};
    return { work, similar: similarityKeys(spec.stage, params, hints), context: this.context, hints };
  }

  estimate(spec: NodeSpec, params: unknown): Estimate | undefined {
    const rec = this.record(spec, params);
    if (rec === undefined) return undefined;
    const ratios = this.load();
    for (const key of rec.similar) {
      const r = ratios.get(key);
      if (r !== undefined && r.length > 0) {
        const basis = key.slice(key.indexOf('|') + 1);
        return { seconds: rec.work * median(r), samples: r.length, basis: basis.startsWith('params:') ? 'same params' : basis.slice(4) };
      }
    }
    return { seconds: rec.work, samples: 0, basis: undefined };
  }

  /** Reads the measured/formula ratios once per run, newest executions first. */
  private load(): Map<string, number[]> {
    if (this.ratios) return this.ratios;
    const out = new Map<string, number[]>();
    for (const row of this.db.succeededExecutions()) {
      const rec = parseRecord(row.environment);
      if (rec === undefined || rec.context !== this.context || row.duration_s === null) continue;
      const ratio = row.duration_s / this.formulaNow(row.stage, row.params, rec);
      if (!(ratio > 0) || !Number.isFinite(ratio)) continue;
      for (const key of rec.similar) {
        const list = out.get(key) ?? [];
        if (list.length < RECENT) list.push(ratio);
        out.set(key, list);
      }
    }
    this.ratios = out;
    return out;
  }

  /** Today's formula for a past execution; what it recorded where that cannot be computed (older records, changed params). */
  private formulaNow(stageName: string, paramsJson: string, rec: EstimateRecord): number {
    const estimate = this.stages.get(stageName)?.estimateSeconds;
    if (estimate === undefined || rec.hints === undefined) return rec.work;
    try {
      const work = estimate(JSON.parse(paramsJson) as unknown, rec.hints);
      return work > 0 && Number.isFinite(work) ? work : rec.work;
    } catch {
      return rec.work;
    }
  }
}

function parseRecord(environment: string | null): EstimateRecord | undefined {
  if (environment === null) return undefined;
  try {
    const e = (JSON.parse(environment) as { estimate?: Partial<EstimateRecord> }).estimate;
    if (e === undefined || typeof e.work !== 'number' || typeof e.context !== 'string' || !Array.isArray(e.similar)) return undefined;
    const hints = e.hints !== null && typeof e.hints === 'object' && !Array.isArray(e.hints) ? e.hints : undefined;
    return { work: e.work, context: e.context, similar: e.similar.filter((k): k is string => typeof k === 'string'), ...(hints ? { hints } : {}) };
  } catch {
    return undefined;
  }
}

/** Estimates of every node of a plan whose params are known up front (for the run's ETA). */
export function planEstimates(estimator: Estimator, nodes: Iterable<{ readonly spec: NodeSpec; readonly params: unknown }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of nodes) {
    const e = estimator.estimate(n.spec, n.params);
    if (e !== undefined) out.set(n.spec.id, e.seconds);
  }
  return out;
}

/**
 * Wall time of running `work` (node id -> seconds, with the ids it waits for) on `jobs` lanes:
 * a list schedule that starts, whenever a lane is free, the ready node with the longest path
 * still after it. Dependencies outside `work` count as done (cached).
 */
export function scheduleSeconds(work: ReadonlyMap<string, { readonly seconds: number; readonly deps: readonly string[] }>, jobs: number): number {
  const after = new Map<string, string[]>();
  for (const [id, w] of work) for (const d of w.deps) if (work.has(d)) after.set(d, [...(after.get(d) ?? []), id]);
  const level = pathLengths(work);
  const levelOf = (id: string): number => level.get(id)!;
  const waiting = new Map([...work].map(([id, w]) => [id, w.deps.filter((d) => work.has(d)).length]));
  let ready = [...waiting].filter(([, n]) => n === 0).map(([id]) => id);
  const running: { id: string; end: number }[] = [];
  let now = 0;
  while (ready.length > 0 || running.length > 0) {
    ready.sort((a, b) => levelOf(b) - levelOf(a));
    while (running.length < Math.max(1, jobs) && ready.length > 0) {
      const id = ready.shift()!;
      running.push({ id, end: now + work.get(id)!.seconds });
    }
    running.sort((a, b) => a.end - b.end);
    const next = running.shift()!;
    now = next.end;
    for (const d of after.get(next.id) ?? []) {
      const n = waiting.get(d)! - 1;
      waiting.set(d, n);
      if (n === 0) ready = [...ready, d];
    }
  }
  return now;
}
