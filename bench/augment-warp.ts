/**
 * The training augmentations and the grid attacks' warp against their plain formulation
 * (test/helpers/plain-warp.ts, what the code computed before it was rewritten for speed), timed
 * alternately in one process on the same 32x32 RGB images, with a check that both give the same bits.
 *   npx tsx bench/augment-warp.ts [--rounds 5]
 */
import { STD, STD_STAR, augmentBatch, augmentRng, drawAugment, type AugmentSpec } from '../ml/augment/standard.ts';
import { gridMotions } from '../ml/attacks/grids.ts';
import { applyWarp, planWarp } from '../ml/transform/rigid.ts';
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

const cases: Array<{ name: string; unit: string; fast: () => Float32Array; plain: () => Float32Array }> = [
  { name: 'std batch of 64', unit: 'batch', fast: () => augmentBatch(x, { ...dims, n }, STD, 0, 5).x, plain: () => plainBatch(STD, 5) },
  { name: 'std* batch of 64', unit: 'batch', fast: () => augmentBatch(x, { ...dims, n }, STD_STAR, 0, 5).x, plain: () => plainBatch(STD_STAR, 5) },
  { name: '64 grid775 points x 64 images', unit: 'pass', fast: () => gridWarps(planWarp, applyWarp), plain: () => gridWarps(plainPlanWarp, plainApplyWarp) },
];
for (const c of cases) {
  const same = Buffer.compare(Buffer.from(c.fast().buffer), Buffer.from(c.plain().buffer)) === 0;
  const times = { fast: [] as number[], plain: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? (['fast', 'plain'] as const) : (['plain', 'fast'] as const)) {
      const t = performance.now();
      for (let k = 0; k < 10; k++) c[side]();
      times[side].push((performance.now() - t) / 10);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const [f, p] = [median(times.fast), median(times.plain)];
  console.log(`${c.name}: ${f.toFixed(2)} ms per ${c.unit} against ${p.toFixed(2)} ms plain, ${(p / f).toFixed(2)}x faster; same bits: ${same ? 'yes' : 'NO'}`);
}
