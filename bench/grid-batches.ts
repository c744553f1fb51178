/**
 * What the evaluation benches (eval-profile, eval-fusions) run: a model file's eval-mode forward
 * passes on `batches` batches of `batch` test images, each batch under one grid775 motion (warped
 * as the grid attack warps them, so they hold its black fill and out-of-range corners).
 */
import * as tf from '@tensorflow/tfjs';
import { openDataset } from '../ml/data/dataset-file.ts';
import { modelCache } from '../ml/models/model-cache.ts';
import type { Classifier } from '../ml/models/classifier.ts';
import type { ImageSet } from '../ml/data/image-set.ts';
import { gridMotions } from '../ml/attacks/grids.ts';
import { attackOrder, warpInto } from '../ml/attacks/spatial.ts';
import { planWarp } from '../ml/transform/rigid.ts';

export interface GridBatches {
  readonly set: ImageSet;
  readonly model: Classifier;
  readonly inputs: Float32Array[];
  /** The logits of one batch (its values, copied out). */
  readonly forward: (buf: Float32Array) => Float32Array;
}

export function gridBatches(modelFile: string, dataFile: string, batch: number, batches: number): GridBatches {
  const set = openDataset(dataFile);
  const model = modelCache.load(modelFile);
  const { height, width, channels } = set;
  const stride = height * width * channels;
  const images = set.gather(Array.from({ length: batch }, (_, i) => i % set.count));
  const motions = gridMotions('grid775');
  const order = attackOrder(motions);
  const inputs: Float32Array[] = [];
  for (let b = 0; b < batches; b++) {
    const plan = planWarp(height, width, motions[order[(b * 37) % order.length]!]!);
    const buf = new Float32Array(batch * stride);
    for (let i = 0; i < batch; i++) warpInto(plan, images, i, buf, i, channels);
    inputs.push(buf);
  }
  const forward = (buf: Float32Array): Float32Array =>
    tf.tidy(() => model.logits(tf.tensor4d(buf, [batch, height, width, channels]), 'eval')).dataSync() as Float32Array;
  return { set, model, inputs, forward };
}
