/**
 * The last model this process loaded, kept for the next caller that loads the same bytes: in a
 * worker that runs many nodes, the evaluations of one model under several attacks decode and build
 * it once. The key is the SHA-256 of the file's content, never its path, so a file holding other
 * bytes is another model. A cached model is handed out again only while every variable still holds
 * the tensor it was loaded with: a caller that assigned to a variable or disposed the model evicts it.
 *
 * Callers must treat the model as read-only and must not dispose it; the cache does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Model } from './model.ts';
import { decodeModel } from './serialize.ts';

/** What the cached entry holds in the tensor engine (so a leak check can leave it out). */
export interface Held {
  readonly tensors: number;
  readonly dataBuffers: number;
  readonly variables: number;
}

const NOTHING: Held = { tensors: 0, dataBuffers: 0, variables: 0 };

interface Entry {
  readonly digest: string;
  readonly model: Model;
  /** The tensor behind every variable at load time (tfjs gives a variable a new one on assign). */
  readonly dataIds: readonly object[];
  readonly held: Held;
}

function variableCount(): number {
  return Object.keys(tf.engine().registeredVariables).length;
}

export class ModelCache {
  private entry: Entry | undefined;
  hits = 0;
  misses = 0;

  load(path: string): Model {
    const bytes = readFileSync(path);
    const digest = createHash('sha256').update(bytes).digest('hex');
    const e = this.entry;
    if (e !== undefined && e.digest === digest && this.intact(e)) {
      this.hits++;
      return e.model;
    }
    this.clear();
    this.misses++;
    const before = tf.memory();
    const variablesBefore = variableCount();
    const model = decodeModel(bytes, path);
    const after = tf.memory();
    this.entry = {
      digest,
      model,
      dataIds: model.namedVariables.map((v) => v.variable.dataId),
      held: {
        tensors: after.numTensors - before.numTensors,
        dataBuffers: after.numDataBuffers - before.numDataBuffers,
        variables: variableCount() - variablesBefore,
      },
    };
    return model;
  }

  private intact(e: Entry): boolean {
    return e.model.namedVariables.every((v, i) => !v.variable.isDisposed && v.variable.dataId === e.dataIds[i]);
  }

  /** The SHA-256 of the file `model` was loaded from, while it is the cached model. */
  digestOf(model: Model): string | undefined {
    const e = this.entry;
    return e !== undefined && e.model === model && this.intact(e) ? e.digest : undefined;
  }

  /** What the cache holds now. */
  held(): Held {
    return this.entry?.held ?? NOTHING;
  }

  clear(): void {
    const e = this.entry;
    this.entry = undefined;
    if (e !== undefined && e.model.namedVariables.some((v) => !v.variable.isDisposed)) e.model.dispose();
  }
}

/** The process's cache (a worker process runs one node at a time). */
export const modelCache = new ModelCache();
