/**
 * The machine's measured FP32 limit, for the engine benchmark's "% of peak" column: oneDNN's own
 * sgemm at a large square size and a large forward convolution, through the native addon on the
 * threads the benchmark uses. Whichever is faster is the peak: no training step can beat the
 * library's best kernel on its best shape.
 */
import type { NativeAddon } from '../ml/backend/native/addon.ts';
import { Rng } from '../ml/random.ts';

export interface Peak {
  readonly sgemmGflops: number;
  readonly convGflops: number;
  readonly gflops: number;
  readonly what: string;
}

function best(run: () => void, flops: number, seconds: number): number {
  run(); // warm-up: primitive creation, page faults
  let fastest = Infinity;
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < seconds * 1000; i++) {
    const t = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - t);
  }
  return flops / (fastest / 1000) / 1e9;
}

export function measurePeak(addon: NativeAddon, seconds: number): Peak {
  const rng = new Rng(3);
  const n = 2048;
  const a = rng.fillUniform(new Float32Array(n * n), -1, 1);
  const b = rng.fillUniform(new Float32Array(n * n), -1, 1);
  const c = new Float32Array(n * n);
  const sgemmGflops = best(() => addon.sgemm(0, 0, n, n, n, a, b, c, 1, 0, 0), 2 * n ** 3, seconds);
  // A 3x3 convolution as in a ResNet's widest stage at CIFAR batch 128 (64 -> 64 channels, 32x32).
  const [N, H, W, C, K] = [128, 32, 32, 64, 64];
  const x = rng.fillUniform(new Float32Array(N * H * W * C), -1, 1);
  const f = rng.fillUniform(new Float32Array(3 * 3 * C * K), -1, 1);
  const y = new Float32Array(N * H * W * K);
  const geometry = [N, H, W, C, H, W, K, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1];
  const convGflops = best(() => addon.conv2d(0, geometry, x, f, y), 2 * N * H * W * 9 * C * K, seconds);
  const gflops = Math.max(sgemmGflops, convGflops);
  return {
    sgemmGflops,
    convGflops,
    gflops,
    what: `oneDNN sgemm ${n}^3 ${sgemmGflops.toFixed(1)} GFLOP/s, conv 3x3 ${N}x${H}x${W}x${C}->${K} ${convGflops.toFixed(1)} GFLOP/s`,
  };
}
