/**
 * Model artifacts: the architecture config and every variable (batch-norm running statistics
 * included) in the model's fixed declaration order, as one tensor archive (archive.ts). Loading
 * rebuilds the architecture from the config and takes every value bit for bit, so a loaded model
 * computes exactly what the saved one did on the same backend.
 */
import { readFileSync } from 'node:fs';
import { parseModelConfig } from './config.ts';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { prepareSyncRead } from '../backend/sync-read.ts';
import { decodeArchive, encodeArchive, type NamedArray } from './archive.ts';
import type { Model } from './model.ts';
import { modelFromValues } from './registry.ts';

export const MODEL_KIND = 'robustfeat.model';

export function modelArrays(model: Model): NamedArray[] {
  return model.namedVariables.map((v) => ({
    name: v.name,
    shape: v.variable.shape,
    data: Float32Array.from(v.variable.dataSync() as Float32Array),
  }));
}

export function encodeModel(model: Model): Uint8Array {
  return encodeArchive({ kind: MODEL_KIND, meta: { config: model.config }, tensors: modelArrays(model) });
}

/** Builds the model `config` describes with values from `arrays`, which must match it exactly. */
export function modelFromArrays(config: unknown, arrays: readonly NamedArray[], where: string): Model {
  const cfg = parseModelConfig(config, where);
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const used = new Set<string>();
  const model = modelFromValues(cfg, (spec) => {
    const a = byName.get(spec.name);
    if (!a) throw new Error(`${where}: missing variable ${spec.name}`);
    if (a.shape.join() !== spec.shape.join()) {
      throw new Error(`${where}: variable ${spec.name} has shape [${a.shape}], the architecture needs [${spec.shape}]`);
    }
    used.add(spec.name);
    return a.data;
  });
  const extra = arrays.filter((a) => !used.has(a.name)).map((a) => a.name);
  if (extra.length > 0) {
    model.dispose();
    throw new Error(`${where}: variables not in the architecture: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
  }
  return model;
}

export function decodeModel(bytes: Uint8Array, where: string): Model {
  const archive = decodeArchive(bytes, where);
  if (archive.kind !== MODEL_KIND) throw new Error(`${where}: archive holds a ${archive.kind}, not a ${MODEL_KIND}`);
  const meta = archive.meta as { config?: unknown } | null;
  if (!meta || typeof meta !== 'object' || !('config' in meta)) throw new Error(`${where}: model archive has no config`);
  return modelFromArrays(meta.config, archive.tensors, where);
}

export function saveModel(model: Model, path: string): void {
  writeFileAtomic(path, encodeModel(model));
}

/** saveModel on any backend, a GPU one included (its variables are downloaded first: sync-read.ts). */
export async function saveModelAsync(model: Model, path: string): Promise<void> {
  await prepareSyncRead(model.namedVariables.map((v) => v.variable));
  saveModel(model, path);
}

export function loadModel(path: string): Model {
  return decodeModel(readFileSync(path), path);
}
