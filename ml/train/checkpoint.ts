/**
 * Training checkpoints: everything a killed run needs to continue exactly where it stopped: the
 * model's variables (batch-norm running statistics included), the optimiser's momentum buffers, the
 * step count and the current epoch's metric accumulators. Batches are a pure function of (seed, step)
 * (BatchSource) and no other randomness is drawn by the loop, so no RNG state is needed.
 *
 * The `fingerprint` (configs of model, optimiser, schedule, data and caller) must match for a
 * checkpoint to be resumed; a mismatch is an error naming the differing keys.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../../base/atomic-write.ts';
import { decodeArchive, encodeArchive, type NamedArray } from '../models/archive.ts';
import type { Model, NamedVariable } from '../models/model.ts';
import type { Sgd } from './sgd.ts';

export const CHECKPOINT_KIND = 'robustfeat.train-checkpoint';

/** Running sums of the epoch in progress. */
export interface EpochAccumulator {
  readonly lossSum: number;
  readonly correct: number;
  readonly examples: number;
  readonly steps: number;
}

export interface CheckpointState {
  /** Optimiser updates done. */
  readonly step: number;
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly epoch: EpochAccumulator;
}

function arrays(prefix: string, vars: readonly NamedVariable[]): NamedArray[] {
  return vars.map((v) => ({
    name: prefix + v.name,
    shape: v.variable.shape,
    data: Float32Array.from(v.variable.dataSync() as Float32Array),
  }));
}

export function saveCheckpoint(path: string, state: CheckpointState, model: Model, optimizer: Sgd): void {
  const bytes = encodeArchive({
    kind: CHECKPOINT_KIND,
    meta: state,
    tensors: [...arrays('model/', model.namedVariables), ...arrays('optimizer/', optimizer.buffers)],
  });
  writeFileAtomic(path, bytes);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Restores `model` and `optimizer` from the checkpoint at `path` and returns its state, or null when
 * there is no checkpoint. Throws when the checkpoint belongs to a different run or does not fit.
 */
export function restoreCheckpoint(path: string, fingerprint: Readonly<Record<string, unknown>>, model: Model, optimizer: Sgd): CheckpointState | null {
  if (!existsSync(path)) return null;
  const archive = decodeArchive(readFileSync(path), path);
  if (archive.kind !== CHECKPOINT_KIND) throw new Error(`${path}: holds a ${archive.kind}, not a training checkpoint`);
  const state = archive.meta as CheckpointState;
  const keys = new Set([...Object.keys(fingerprint), ...Object.keys(state.fingerprint ?? {})]);
  const differing = [...keys].filter((k) => !sameJson(fingerprint[k], state.fingerprint?.[k]));
  if (differing.length > 0) {
    throw new Error(`${path}: checkpoint belongs to a different run (differs in ${differing.join(', ')}); delete it to start over`);
  }
  const byName = new Map(archive.tensors.map((t) => [t.name, t]));
  const targets = [...model.namedVariables.map((v) => ['model/' + v.name, v] as const), ...optimizer.buffers.map((v) => ['optimizer/' + v.name, v] as const)];
  if (targets.length !== archive.tensors.length) {
    throw new Error(`${path}: checkpoint holds ${archive.tensors.length} tensors, the model and optimiser have ${targets.length}`);
  }
  for (const [key, v] of targets) {
    const t = byName.get(key);
    if (!t) throw new Error(`${path}: checkpoint lacks ${key}`);
    if (t.shape.join() !== v.variable.shape.join()) throw new Error(`${path}: ${key} has shape [${t.shape}], expected [${v.variable.shape}]`);
  }
  tf.tidy(() => {
    for (const [key, v] of targets) v.variable.assign(tf.tensor(byName.get(key)!.data, v.variable.shape));
  });
  return state;
}
