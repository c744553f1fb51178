/**
 * Sweep lists in params.yaml expand into one node per combination, each with a stable id. The id
 * is built from the values themselves (not positions), so adding a value to a list leaves every
 * existing node's id, and therefore its cache entry, unchanged.
 */

export type SweepValue = string | number | boolean;

/** Cartesian product of named value lists, in the order the axes are given. */
export function combinations<T extends Record<string, readonly SweepValue[]>>(axes: T): Array<{ [K in keyof T]: T[K][number] }> {
  let out: Array<Record<string, SweepValue>> = [{}];
  for (const [name, values] of Object.entries(axes)) {
    if (values.length === 0) throw new Error(`sweep axis '${name}' has no values`);
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [name]: v })));
  }
  return out as Array<{ [K in keyof T]: T[K][number] }>;
}

/** One id segment: `resnet18`, `alpha0.3`, `lr0.01`, `std`. Numbers carry their axis name. */
export function segment(axis: string, value: SweepValue): string {
  // Numbers print as JavaScript writes them, which for values read from params.yaml is as written
  // there (0.05, 1e-4 -> 0.0001); 0.1 + 0.2 would print 0.30000000000000004.
  if (typeof value === 'number') return `${axis}${String(value)}`;
  if (typeof value === 'boolean') return value ? axis : `no-${axis}`;
  return value.replace(/[^A-Za-z0-9._*+-]+/g, '_');
}

/** `stage@seg1-seg2-…`, or just `stage` when the node has no variant. */
export function nodeId(stage: string, segments: readonly string[]): string {
  return segments.length === 0 ? stage : `${stage}@${segments.join('-')}`;
}
