/**
 * Accumulates the nodes of one profile's graph. Experiments share upstream nodes (the datasets,
 * D_R, the evaluation settings), so adding an id twice is allowed when the spec is the same.
 */
import { UserError } from '../engine/core/result.ts';
import { canonicalJson } from '../engine/core/canonical-json.ts';
import type { NodeRef, NodeSpec } from '../engine/core/project.ts';
import { NAMING, type Naming } from './naming.ts';

export class GraphBuilder {
  private readonly byId = new Map<string, NodeSpec>();
  readonly groups: Record<string, string[]> = {};

  /** How the builders name the nodes they add (docs/naming.md). */
  constructor(readonly naming: Naming = NAMING) {}

  add(spec: NodeSpec): string {
    const have = this.byId.get(spec.id);
    if (have) {
      const same =
        have.stage === spec.stage &&
        canonicalJson(have.params) === canonicalJson(spec.params) &&
        canonicalJson(have.inputs ?? {}) === canonicalJson(spec.inputs ?? {});
      if (!same)
        throw new UserError(
          `params.yaml${spec.paramsSource ? ` ${spec.paramsSource}` : ''}: two different nodes would get the id ${spec.id} (two sweep entries with the same name?)`,
        );
      return spec.id;
    }
    this.byId.set(spec.id, spec);
    return spec.id;
  }

  group(name: string, ids: readonly string[]): void {
    this.groups[name] = [...new Set([...(this.groups[name] ?? []), ...ids])];
  }

  get nodes(): NodeSpec[] {
    return [...this.byId.values()];
  }
}

export function ref(node: string, output: string): NodeRef {
  return { node, output };
}
