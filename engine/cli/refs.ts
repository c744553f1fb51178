import type { LineageDb, NodeRow, OutputRow } from '../state/db.ts';
import type { CheckedGraph } from '../plan/graph.ts';
import type { Project } from '../core/project.ts';
import { UserError } from '../core/result.ts';
import { didYouMean } from '../core/suggest.ts';
import type { Workspace } from '../state/workspace.ts';
import { loadProject, type GlobalOpts } from './load.ts';

/** How `show`, `lineage` and `preview` find what a reference names in the lineage database. */

/** Finds a registered node by id (latest registration) or key prefix. */
export function findNode(db: LineageDb, ref: string): NodeRow | undefined {
  const byId = db.latestNodeById(ref);
  if (byId) return byId;
  if (/^[0-9a-f]{4,64}$/.test(ref)) {
    const rows = db.nodesByIdPrefix(ref).filter((r) => r.key.startsWith(ref));
    if (rows.length > 1) throw new UserError(`key prefix '${ref}' is ambiguous (${rows.length} nodes)`);
    return rows[0];
  }
  return undefined;
}

/** Finds an artifact by `node:output`, or by digest prefix. */
export function findArtifact(db: LineageDb, ref: string): OutputRow[] {
  const colon = ref.lastIndexOf(':');
  if (colon > 0) {
    const node = findNode(db, ref.slice(0, colon));
    const out = node ? db.outputs(node.key).find((o) => o.name === ref.slice(colon + 1)) : undefined;
    return out ? [out] : [];
  }
  if (/^[0-9a-f]{4,64}$/.test(ref)) return db.outputsByDigestPrefix(ref);
  return [];
}

/**
 * Why `show`/`lineage` found nothing for `ref`, as precisely as can be said: a stage name, a node
 * of this profile that never ran, a near miss of a node id (case or a typo), or nothing like it.
 */
export async function whyNothingMatches(project: Project, opts: GlobalOpts, ws: Workspace, ref: string): Promise<UserError> {
  let graph: CheckedGraph | undefined;
  let profile = opts.profile ?? '';
  try {
    const loaded = await loadProject(project, opts);
    loaded.ws.close();
    graph = loaded.graph;
    profile = loaded.profile;
  } catch {
    // A broken params.yaml must not hide the answer about the store.
  }
  const inGraph = graph ? [...graph.nodes.values()] : [];
  const ofStage = inGraph.filter((n) => n.spec.stage.name === ref).map((n) => n.spec.id);
  if (project.stages.some((s) => s.name === ref)) {
    const example = ofStage[0] ?? `${ref}@…`;
    return new UserError(
      `'${ref}' is a stage (${ofStage.length} nodes in profile ${profile}); show takes one node, e.g. '${example}' (list them with 'dag ${ref}')`,
    );
  }
  if (graph?.nodes.has(ref)) return new UserError(`'${ref}' is a node of profile ${profile} that has not run yet (run it with 'repro ${ref}')`);
  const known = [...new Set([...ws.db.allNodes().map((n) => n.node_id), ...inGraph.map((n) => n.spec.id)])];
  // Ids are lower case without most punctuation, so the name a paper prints ('ResNet-18') is
  // looked for with case and punctuation squashed on both sides.
  const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9.]/g, '');
  const containing = known.filter((id) => id.toLowerCase().includes(ref.toLowerCase()) || (squash(ref) !== '' && squash(id).includes(squash(ref))));
  const hint =
    didYouMean(ref, known) ||
    (containing.length > 0 ? `; ids that contain it: ${containing.slice(0, 5).join(', ')}${containing.length > 5 ? `, … (${containing.length})` : ''}` : '');
  if (/^[0-9a-f]{1,3}$/.test(ref)) return new UserError(`'${ref}' is too short a digest or key prefix: give at least 4 characters`);
  return new UserError(`nothing registered matches '${ref}'${hint || " (try a node id from 'dag', or 'log')"}`);
}
