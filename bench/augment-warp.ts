/**
 * The training augmentations and the grid attacks' warp, as they run (the native kernel where the
 * addon is built) and in TypeScript, against their plain formulation (test/helpers/plain-warp.ts,
 * what the code computed before it was rewritten for speed), timed alternately in one process on
 * the same 32x32 RGB images, with a check that all give the same bits.
 *   npx tsx bench/augment-warp.ts [--rounds 5]
 */
import { STD, STD_STAR, augmentBatch, augmentRng, drawAugment, type AugmentSpec } from '../ml/augment/standard.ts';
import { gridMotions } from '../ml/attacks/grids.ts';
import { applyWarp, applyWarpJs, planWarp } from '../ml/transform/rigid.ts';
import { loadNativeAddon } from '../ml/backend/native/addon.ts';
import { Rng } from '../ml/random.ts';
import { plainApplyAugment, plainApplyWarp, plainPlanWarp } from '../test/helpers/plain-warp.ts';
import { benchArg } from './bench-arg.ts';

const rounds = Number(benchArg('rounds', '5'));
const dims = { height: 32, width: 32, channels: 3 };
const per = 32 * 32 * 3;
const n = 64;
const x = new Rng(1).fillUniform(new Float32Array(n * per), 0, 1);

function plainBatch(spec: AugmentSpec, step: number): Float32Array {
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    plainApplyAugment(x.subarray(i * per, (i + 1) * per), dims, drawAugment(spec, augmentRng(0, step, i)), out.subarray(i * per, (i + 1) * per));
  }
  return out;
}
const motions = gridMotions('grid775').slice(0, 64);
function gridWarps(plan: typeof planWarp, apply: typeof applyWarp): Float32Array {
  const out = new Float32Array(n * per);
  for (const m of motions) apply(plan(32, 32, m), x, out, 3, 0, n);
  return out;
}

const addon = loadNativeAddon();
const native = addon?.augmentImages !== undefined && addon.warpRigid !== undefined;
console.log(`as run: ${native ? 'the native kernels' : 'TypeScript (no native addon with the augmentation kernels)'}`);
type Side = 'run' | 'ts' | 'plain';
const cases: Array<{ name: string; unit: string } & Record<Side, () => Float32Array>> = [
  {
    name: 'std batch of 64',
    unit: 'batch',
    run: () => augmentBatch(x, { ...dims, n }, STD, 0, 5).x,
    ts: () => augmentBatch(x, { ...dims, n }, STD, 0, 5, { js: true }).x,
    plain: () => plainBatch(STD, 5),
  },
  {
    name: 'std* batch of 64',
    unit: 'batch',
    run: () => augmentBatch(x, { ...dims, n }, STD_STAR, 0, 5).x,
    ts: () => augmentBatch(x, { ...dims, n }, STD_STAR, 0, 5, { js: true }).x,
    plain: () => plainBatch(STD_STAR, 5),
  },
  {
    name: '64 grid775 points x 64 images',
    unit: 'pass',
    run: () => gridWarps(planWarp, applyWarp),
    ts: () => gridWarps(planWarp, applyWarpJs),
    plain: () => gridWarps(plainPlanWarp, plainApplyWarp),
  },
];
const sides: Side[] = ['run', 'ts', 'plain'];
for (const c of cases) {
  const want = Buffer.from(c.plain().buffer);
  const same = sides.every((side) => Buffer.compare(Buffer.from(c[side]().buffer), want) === 0);
  const times: Record<Side, number[]> = { run: [], ts: [], plain: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const t = performance.now();
      for (let k = 0; k < 10; k++) c[side]();
      times[side].push((performance.now() - t) / 10);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const [run, ts, plain] = sides.map((side) => median(times[side]));
  console.log(
    `${c.name}: as run ${run!.toFixed(2)} ms per ${c.unit} (${(plain! / run!).toFixed(1)}x faster than plain), TypeScript ${ts!.toFixed(2)} ms (${(plain! / ts!).toFixed(1)}x), plain ${plain!.toFixed(2)} ms; same bits: ${same ? 'yes' : 'NO'}`,
  );
}
