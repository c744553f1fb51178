import { stat } from 'node:fs/promises';
import type { Workspace } from './workspace.ts';

/** `gc` and `verify`: keeping the blob store honest and small. */

export interface GcReport {
  readonly unreferenced: number;
  readonly bytes: number;
  readonly views: number;
  readonly applied: boolean;
}

/** Blobs that no registered node's output refers to (tree members included). Deletes them if `apply`. */
export async function collectGarbage(ws: Workspace, apply: boolean): Promise<GcReport> {
  const referenced = new Set<string>();
  const referencedTrees = new Set<string>();
  for (const o of ws.db.allOutputs()) {
    try {
      for (const d of await ws.store.blobsOf(o)) referenced.add(d);
    } catch {
      referenced.add(o.digest); // a missing manifest: verify reports it; gc keeps what it can't read
    }
    if (o.kind === 'dir') referencedTrees.add(o.digest);
  }
  let unreferenced = 0;
  let bytes = 0;
  for (const d of await ws.store.allBlobs()) {
    if (referenced.has(d)) continue;
    unreferenced++;
    bytes += (await stat(ws.store.blobPath(d)).catch(() => ({ size: 0 }))).size;
    if (apply) {
      await ws.store.discardBlob(d);
      ws.db.forgetBlobStat(d);
      ws.db.forgetArtifact(d);
    }
  }
  let views = 0;
  for (const v of await ws.store.allTreeViews()) {
    if (referencedTrees.has(v)) continue;
    views++;
    if (apply) await ws.store.removeTreeView(v);
  }
  return { unreferenced, bytes, views, applied: apply };
}

export interface VerifyProblem {
  readonly node: string;
  readonly output: string;
  readonly state: string;
}

/** Rehashes every registered output; a node with a bad output is unregistered so repro recomputes it. */
export async function verifyAll(ws: Workspace, onProblem: (p: VerifyProblem) => void): Promise<{ checked: number; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  let checked = 0;
  for (const o of ws.db.allOutputs()) {
    checked++;
    const r = await ws.integrity.check(o, true);
    if (r.state !== 'ok') {
      const node = ws.db.node(o.node_key);
      const p = { node: node?.node_id ?? o.node_key, output: o.name, state: r.state };
      problems.push(p);
      onProblem(p);
      ws.db.unregister(o.node_key);
    }
  }
  return { checked, problems };
}
