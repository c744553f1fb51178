/**
 * What `show` and `preview` say about the project's own artifact formats: a dataset's shape, class
 * balance and provenance; a model's architecture and parameter count; an evaluation's figures.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { OutputRow, NodeRow } from '../engine/state/db.ts';
import { UserError } from '../engine/core/result.ts';
import { openWorkspace } from '../engine/state/workspace.ts';
import { DATASET_MAGIC, openDataset } from '../ml/data/dataset-file.ts';
import { datasetSummary, formatDatasetSummary } from '../ml/data/summary.ts';
import { readArchiveHeader } from '../ml/models/archive.ts';
import { writeLabelledPreview } from './preview.ts';

function head(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export async function describeArtifact(path: string, output: OutputRow, _node: NodeRow): Promise<string[]> {
  if (output.kind !== 'file') return [];
  const magic = head(path, 8).toString('latin1');
  if (magic.startsWith(DATASET_MAGIC))
    return [
      'dataset',
      ...formatDatasetSummary(datasetSummary(openDataset(path)))
        .split('\n')
        .map((l) => `  ${l}`),
    ];
  const archive = readArchiveHeader(path);
  if (archive) {
    const values = archive.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    return [`${archive.kind}: ${archive.tensors.length} tensors, ${values.toLocaleString('en')} values`, `  ${JSON.stringify(archive.meta)}`];
  }
  if (magic.trimStart().startsWith('{')) {
    const r = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(2)} %` : 'n/a');
    if ('conflict' in r && 'robustOnly' in r) {
      const c = r['conflict'] as Record<string, unknown>;
      const only = (k: string) => pct((r[k] as Record<string, unknown> | undefined)?.['accuracy']);
      return [
        `probe on ${String(r['count'])} images: natural ${pct(r['naturalAccuracy'])}; conflict follows robust ${pct(c['followsRobust'])}, non-robust ${pct(c['followsNonRobust'])}; robust only ${only('robustOnly')}, non-robust only ${only('nonRobustOnly')}`,
      ];
    }
    if ('naturalAccuracy' in r) {
      return [
        `evaluation ${String(r['attack'])} on ${String(r['count'])} images: natural ${pct(r['naturalAccuracy'])}, robust ${pct(r['robustAccuracy'])}, ASR ${pct(r['asr'])}`,
      ];
    }
  }
  return [];
}

const DATASET_OUTPUTS = ['train', 'dataset', 'robust', 'test'];

/** Finds a dataset by node id, artifact digest prefix or file path, and writes its preview PNG. */
export async function previewDataset(root: string, target: string, o: { output?: string; out?: string; perClass: number; db?: string }): Promise<string> {
  let path: string;
  let label: string;
  const ws = await openWorkspace(root, undefined, o.db);
  try {
    if (existsSync(target)) {
      path = target;
      label = basename(target);
    } else {
      const node = ws.db.latestNodeById(target);
      const outputs = node ? ws.db.outputs(node.key) : ws.db.outputsByDigestPrefix(target);
      if (outputs.length === 0) throw new UserError(`preview: '${target}' is neither a built node, an artifact digest nor a file`);
      const files = outputs.filter((x) => x.kind === 'file');
      const pick = o.output ? files.find((x) => x.name === o.output) : (DATASET_OUTPUTS.map((n) => files.find((x) => x.name === n)).find(Boolean) ?? files[0]);
      if (!pick)
        throw new UserError(`preview: ${target} has no file output${o.output ? ` named '${o.output}'` : ''}; it has ${outputs.map((x) => x.name).join(', ')}`);
      path = ws.store.blobPath(pick.digest);
      label = `${node ? target.replace(/[^A-Za-z0-9._-]+/g, '_') : pick.digest.slice(0, 12)}-${pick.name}`;
    }
    if (!head(path, 8).toString('latin1').startsWith(DATASET_MAGIC)) throw new UserError(`preview: ${path} is not a dataset file`);
    const set = openDataset(path);
    const out = o.out ?? join(root, 'reports', `preview-${label}.png`);
    const p = await writeLabelledPreview(set, out, { perClass: o.perClass, classNames: set.classNames });
    return [formatDatasetSummary(datasetSummary(set)), `preview: ${out}`, `  ${p.caption}`, ...p.warnings.map((w) => `warning: ${w}`)].join('\n');
  } finally {
    ws.close();
  }
}
