import { canonicalJson, digestOf } from '../core/canonical-json.ts';
import type { NodeRef, NodeSpec, Project } from '../core/project.ts';
import type { SourceDigests } from '../core/source-digest.ts';
import type { LineageDb } from '../state/db.ts';
import type { Integrity } from '../state/integrity.ts';
import type { ArtifactRef } from '../state/store.ts';
import type { ReproListener } from '../run/events.ts';
import { formulaEstimate, type Estimate, type Estimator } from './estimates.ts';
import type { CheckedGraph, CheckedNode } from './graph.ts';

/**
 * What decides whether a node is cached, with nothing run: its key (the hash of its stage's name,
 * version and code, its parameters and its inputs' content digests), the lookup of that key in the
 * lineage database with its blobs checked, and the reasons a node would run. A dry run, `status`
 * and the views of what is up to date need only this; no executor, no lock.
 */

/** What the cache reads: the graph, the lineage database, the blobs' integrity and the code digests. */
export interface CacheContext {
  readonly project: Project;
  readonly graph: CheckedGraph;
  readonly db: LineageDb;
  readonly integrity: Integrity;
  readonly digests: SourceDigests;
  readonly listener: ReproListener;
  /** Calibrated plan estimates (engine/plan/estimates.ts); without one, the stages' formulas alone. */
  readonly estimator?: Estimator;
}

export function nodeKey(parts: {
  stage: string;
  version: number;
  code: string;
  params: unknown;
  inputs: Readonly<Record<string, string | readonly string[]>>;
}): string {
  return digestOf({ stage: parts.stage, version: parts.version, code: parts.code, params: parts.params, inputs: parts.inputs });
}

/** One upstream ref of a node: `data`, or `evals[3]` for the fourth entry of a list input. */
export interface InputSlot {
  readonly name: string;
  readonly index: number | undefined;
  readonly label: string;
  readonly ref: NodeRef;
}

export function inputSlots(spec: NodeSpec): InputSlot[] {
  return Object.entries(spec.inputs ?? {}).flatMap(([name, given]): InputSlot[] =>
    Array.isArray(given)
      ? (given as readonly NodeRef[]).map((ref, index) => ({ name, index, label: `${name}[${index}]`, ref }))
      : [{ name, index: undefined, label: name, ref: given as NodeRef }],
  );
}

/** Per-slot values regrouped by input name: a value for single inputs, a list for list inputs. */
export function groupBySlot<T>(spec: NodeSpec, slots: readonly InputSlot[], values: readonly T[]): Record<string, T | T[]> {
  const out: Record<string, T | T[]> = {};
  for (const [name, decl] of Object.entries(spec.stage.inputs)) if (decl.many) out[name] = [];
  slots.forEach((slot, i) => {
    if (slot.index === undefined) out[slot.name] = values[i]!;
    else (out[slot.name] as T[])[slot.index] = values[i]!;
  });
  return out;
}

/** A node whose inputs are all known: its key and what went into it. */
export interface KeyedNode {
  readonly node: CheckedNode;
  readonly key: string;
  readonly code: string;
  readonly slots: readonly InputSlot[];
  /** The artifact behind each slot, in slot order. */
  readonly artifacts: readonly ArtifactRef[];
  readonly inputDigests: Record<string, string | string[]>;
}

export class NodeCache {
  constructor(readonly ctx: CacheContext) {}

  /** The node's key, given the outputs of its upstream nodes (one per slot, in slot order). */
  keyed(node: CheckedNode, slots: readonly InputSlot[], upstream: readonly Readonly<Record<string, ArtifactRef>>[]): KeyedNode {
    const spec = node.spec;
    const code = this.ctx.digests.of(spec.stage.module).digest;
    const artifacts = slots.map((slot, i) => upstream[i]![slot.ref.output]!);
    const inputDigests = groupBySlot(
      spec,
      slots,
      artifacts.map((a) => a.digest),
    );
    const key = nodeKey({ stage: spec.stage.name, version: spec.stage.version, code, params: node.params, inputs: inputDigests });
    return { node, key, code, slots, artifacts, inputDigests };
  }

  /**
   * A hit needs the registration and every output blob intact (stat, or rehash if touched). Outside
   * a dry run, a damaged registration is dropped and reported, so the node is recomputed.
   */
  async lookup(key: string, id: string, dryRun: boolean): Promise<{ outputs?: Record<string, ArtifactRef>; reasons?: string[] }> {
    const registered = this.ctx.db.registeredOutputs(key);
    if (registered === undefined) return {};
    const outputs: Record<string, ArtifactRef> = {};
    for (const { output: o, stat } of registered) {
      const ref: ArtifactRef = { digest: o.digest, kind: o.kind, size: o.size };
      const check = await this.ctx.integrity.check(ref, false, dryRun, stat);
      if (check.state !== 'ok') {
        if (!dryRun) this.ctx.db.unregister(key);
        const message = `output '${o.name}' (blob ${check.bad[0]!.slice(0, 12)}) is ${check.state}`;
        if (!dryRun) this.ctx.listener({ type: 'repaired', node: id, message: `${message}; recomputing` });
        return { reasons: [message] };
      }
      outputs[o.name] = ref;
    }
    return { outputs };
  }

  /** Why a node must run, by comparison with the last registered result of the same node id. */
  explain(k: KeyedNode): string[] {
    const { node, key, code, inputDigests: inputs } = k;
    const prev = this.ctx.db.latestNodeById(node.spec.id);
    if (prev === undefined) return ['never run'];
    if (prev.key === key) return ['result not registered'];
    const reasons: string[] = [];
    if (prev.stage_version !== node.spec.stage.version) reasons.push(`stage version ${prev.stage_version} -> ${node.spec.stage.version}`);
    if (prev.code_digest !== code) reasons.push(`code of stage '${node.spec.stage.name}' changed`);
    const before = flatten(JSON.parse(prev.params) as unknown);
    const after = flatten(JSON.parse(canonicalJson(node.params)) as unknown);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((p) => before[p] !== after[p]).sort();
    for (const p of changed.slice(0, 6)) reasons.push(`param ${p || '(all)'}: ${before[p] ?? '(absent)'} -> ${after[p] ?? '(absent)'}`);
    if (changed.length > 6) reasons.push(`… and ${changed.length - 6} more params`);
    const prevEdges = new Map(this.ctx.db.edges(prev.key).map((e) => [e.input, e]));
    const labels = new Set(k.slots.map((s) => s.label));
    for (const slot of k.slots) {
      const e = prevEdges.get(slot.label);
      const digest = slot.index === undefined ? inputs[slot.name] : (inputs[slot.name] as readonly string[])[slot.index];
      if (e === undefined) reasons.push(`input '${slot.label}' added (from ${slot.ref.node})`);
      else if (e.digest !== digest) reasons.push(`input '${slot.label}' changed (from ${slot.ref.node})`);
    }
    for (const label of prevEdges.keys()) if (!labels.has(label)) reasons.push(`input '${label}' removed`);
    return reasons.length > 0 ? reasons : ['result not registered'];
  }

  /** Why a node whose inputs would first be recomputed (a dry run) would run too. */
  pendingReasons(pending: readonly InputSlot[]): string[] {
    const upstreamIds = [...new Set(pending.map((slot) => slot.ref.node))];
    return pending.length <= 3
      ? pending.map((slot) => `input '${slot.label}' comes from ${slot.ref.node}, which would run (this node reruns unless its bytes come out identical)`)
      : [
          `${pending.length} inputs come from ${upstreamIds.length} nodes that would run (${upstreamIds.slice(0, 2).join(', ')}, …); this node reruns unless their bytes come out identical`,
        ];
  }

  /** The node's estimate: calibrated where an estimator is given, else its stage's formula. */
  estimate(node: CheckedNode): Estimate | undefined {
    return this.ctx.estimator ? this.ctx.estimator.estimate(node.spec, node.params) : formulaEstimate(node.spec, node.params);
  }
}

/** Flattens nested params into dotted keys for readable diffs. */
function flatten(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = JSON.stringify(v);
  }
  return out;
}
