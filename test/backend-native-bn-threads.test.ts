import { nativeSkip } from './helpers/services.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';

const addon = loadNativeAddon();
const skip = nativeSkip();

/**
 * Rows split into `threads` equal static chunks, one per thread; chunk t holds one row whose
 * channel 0 is `chunkValues[t]`, every other value is 0. Channel 0's sum then depends on the order
 * the per-thread sums are added in (1e30 + 1 - 1e30 = 0, 1e30 - 1e30 + 1 = 1), which must be thread
 * order, whatever order the threads finish in.
 */
function channelZeroMean(
  kernel: 'bnTrain' | 'bnTrainRelu',
  threads: number,
  chunkValues: readonly number[],
  channels: number,
  rowsPerThread: number,
): Float32Array {
  const rows = threads * rowsPerThread;
  const x = new Float32Array(rows * channels);
  chunkValues.forEach((v, t) => {
    x[t * rowsPerThread * channels] = v;
  });
  const mean = new Float32Array(channels);
  const variance = new Float32Array(channels);
  addon![kernel](x, rows, channels, new Float32Array(channels).fill(1), new Float32Array(channels), 1e-5, new Float32Array(rows * channels), mean, variance);
  return mean;
}

for (const kernel of ['bnTrain', 'bnTrainRelu'] as const) {
  test(`native ${kernel} sums its per-thread partials in thread order (the same bits however threads are scheduled)`, { skip }, () => {
    const before = addon!.getNumThreads();
    const threads = 4;
    const rowsPerThread = 4096; // rows x channels well above the kernels' parallel threshold
    const channels = 8;
    try {
      addon!.setNumThreads(threads);
      // Thread order: ((0 + 1) + 1e30) + -1e30 + 0 = 0; thread 0 usually finishes first, so the
      // other chunk values make any other finishing order give 1 / rows instead.
      const cases: [number[], number][] = [
        [[1, 1e30, -1e30, 0], 0],
        [[1e30, -1e30, 1, 0], 1 / (threads * rowsPerThread)],
        [[0, 1, 1e30, -1e30], 0],
      ];
      for (const [values, expected] of cases) {
        for (let rep = 0; rep < 40; rep++) {
          const mean = channelZeroMean(kernel, threads, values, channels, rowsPerThread);
          assert.equal(mean[0], Math.fround(expected), `${kernel}: chunk values ${values.join(', ')}, repetition ${rep}: mean ${mean[0]}`);
        }
      }
    } finally {
      addon!.setNumThreads(before);
    }
  });
}
