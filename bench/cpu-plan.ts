// How long `repro table1 --profile cpu` and `repro fig3 --profile cpu` take on this machine,
// from short real measurements at the real sizes: one short run of each kind of node (every
// architecture's training for a fraction of an epoch, f_A, D_R inversion for a few steps, each
// attack kind on 50 images) on a generated CIFAR-format copy, then the calibrated dry runs of
// the real targets in the same folder. Timings on a shared machine are inflated, so the plan errs
// long. The generated copy has random pixels: only speed is measured here.
//
// Grid attacks stop early on an image once it is fooled, so their cost depends on how robust the
// model is, which random-pixel calibration models (near-constant predictors) cannot show. The
// bench therefore also prints table1 with every grid evaluation re-planned at the paper's own
// accuracies (its fully trained GPU models, more accurate and more robust than 10-epoch CPU ones,
// so this errs long), at the cost per (image, grid point) that the calibration measured.
//
//   npx tsx bench/cpu-plan.ts [folder]   (keeps its lineage in folder/artifacts for later dry runs)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR10 } from '../ml/data/cifar10.ts';
import Database from 'better-sqlite3';
import { gridMotions, GRID_NAMES, type GridName } from '../ml/attacks/grids.ts';
import { Rng } from '../ml/random.ts';
import { PAPER_TABLE1 } from '../report/paper.ts';
import type { TrainingColumn } from '../report/labels.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'rf-cpu-plan-'));
mkdirSync(dir, { recursive: true });
copyFileSync(join(ROOT, 'params.yaml'), join(dir, 'params.yaml'));

// 5 train batches of 2,000 records (the 10,000 the cpu profile trains on) and a test batch.
const cifar = join(dir, 'cifar');
if (!existsSync(join(cifar, CIFAR10.folder, CIFAR10.testFile))) {
  mkdirSync(join(cifar, CIFAR10.folder), { recursive: true });
  const rng = new Rng(0);
  for (const name of [...CIFAR10.trainFiles, CIFAR10.testFile]) {
    const n = 2000;
    const b = Buffer.alloc(n * CIFAR10.recordBytes);
    for (let i = 0; i < n; i++) {
      b[i * CIFAR10.recordBytes] = i % 10;
      for (let k = 1; k < CIFAR10.recordBytes; k++) b[i * CIFAR10.recordBytes + k] = rng.int(256);
    }
    writeFileSync(join(cifar, CIFAR10.folder, name), b);
  }
}

const env = { ...process.env, RF_CIFAR10: cifar };
const cli = (args: string[]) =>
  execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'pipeline.ts'), '--root', dir, '--profile', 'cpu', ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

// Shorter runs of the same nodes: the similarity keys (architecture, width, depth, batch, attack)
// do not include epochs, steps or counts, so these calibrate the full-size nodes.
const short = [
  'data.partial=true',
  'robust.source=build',
  'q3.train.epochs=0.4',
  'q2.train.epochs=0.4',
  'robust.train.epochs=0.1',
  'robust.build.steps=4',
  'robust.build.count=500',
  'evaluation.count=50',
].flatMap((s) => ['--set', s]);
const targets = [
  ...['gresnet-resnet18-d-std-lr0.1', 'ptn-resnet18-d-std-lr0.01', 'resnet50-d-std-lr0.1', 'stn-resnet18-d-std-lr0.1'].flatMap((r) => [
    `evaluate@q3-${r}-none`,
    `evaluate@q3-${r}-grid775`,
  ]),
  'evaluate@q2-resnet18-alpha0-l2-0.25',
  'evaluate@q2-vgg16-alpha0-l2-0.25',
  'evaluate@q2-resnet50-alpha0-linf-1',
  'evaluate@q2-resnet50-alpha0-l2-0.25',
  'build-dr',
];
const t0 = Date.now();
process.stdout.write(`calibration run in ${dir} (${targets.length} targets) ...\n`);
const out = cli(['repro', ...targets, ...short]);
process.stdout.write(
  `${out
    .split('\n')
    .filter((l) => /^ {2}done|^repro/.test(l))
    .join('\n')}\ncalibration took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
);
/** "1h02m03s", "41s", "2.5s" -> seconds. */
const seconds = (text: string): number =>
  [...text.matchAll(/([\d.]+)([hms])/g)].reduce((sum, [, v, u]) => sum + Number(v) * (u === 'h' ? 3600 : u === 'm' ? 60 : 1), 0);
const hm = (s: number) => `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;

/** Q3's families by their id segment (docs/naming.md). */
const FAMILY_OF_TOKEN: Readonly<Record<string, string>> = { resnet50: 'ResNet-50', gresnet: 'G-ResNet', stn: 'STN', ptn: 'PTN' };

/** Seconds per evaluated (image, grid point) pair, per Table 1 family, from the calibration's grid evaluations. */
function gridCostPerPair(): Map<string, number> {
  const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
  const rows = db
    .prepare("SELECT node_id, duration_s, metrics FROM executions WHERE stage = 'evaluate' AND status = 'succeeded' AND node_id LIKE 'evaluate@q3-%'")
    .all() as Array<{ node_id: string; duration_s: number; metrics: string }>;
  db.close();
  const cost = new Map<string, number>();
  for (const r of rows) {
    const pairs = (JSON.parse(r.metrics) as { gridEvaluations?: number }).gridEvaluations;
    const family = FAMILY_OF_TOKEN[/^evaluate@q3-(resnet50|gresnet|stn|ptn)-/.exec(r.node_id)?.[1] ?? ''];
    if (family && pairs && pairs >= 1000) cost.set(family, r.duration_s / pairs);
  }
  return cost;
}

/**
 * Table 1's grid evaluations re-planned at the paper's accuracies: an image right under every grid
 * point costs (points - 1) model calls (the identity is known from the natural pass), one fooled
 * costs at most two early-stopping rounds of 32 points, one wrong untouched costs nothing.
 */
function gridScenario(lines: string[], count: number): { calibrated: number; scenario: number; nodes: number } {
  const cost = gridCostPerPair();
  let calibrated = 0;
  let scenario = 0;
  let nodes = 0;
  for (const l of lines) {
    // Ids as docs/naming.md writes them: evaluate@q3-<family>[-<backbone>]-<d|dr>-<std|stdstar>-lr<lr>-<attack>.
    const m = /^ {2}to run +evaluate@q3-(resnet50|gresnet|stn|ptn)-.*-(d|dr)-(std|stdstar)-lr[\d.]+-(\w+) +\(~([^,]+),/.exec(l);
    if (!m || !(GRID_NAMES as readonly string[]).includes(m[4]!)) continue;
    const [, token, d, augment, grid, estimate] = m as unknown as [string, string, 'd' | 'dr', string, GridName, string];
    const family = FAMILY_OF_TOKEN[token]!;
    const dataset = d === 'd' ? 'D' : 'D_R';
    const column = (augment === 'std' ? dataset : `${dataset}*`) as TrainingColumn;
    const paper = PAPER_TABLE1[family === 'PTN' ? 'STN' : (family as 'ResNet-50' | 'G-ResNet' | 'STN')];
    const natural = paper.none[column] / 100;
    const robust = paper[grid][column] / 100;
    const perPair = cost.get(family) ?? Math.max(...cost.values());
    const pairs = count * (robust * (gridMotions(grid).length - 1) + (natural - robust) * 64);
    calibrated += seconds(estimate);
    scenario += pairs * perPair;
    nodes++;
  }
  return { calibrated, scenario, nodes };
}

for (const target of ['table1', 'fig3']) {
  const plan = cli(['repro', target, '--dry-run', '--set', 'robust.source=build']);
  const lines = plan.split('\n');
  const formula = lines.filter((l) => /to run .*formula, not yet measured/.test(l)).length;
  const calibrated = lines.filter((l) => /to run .*calibrated on/.test(l)).length;
  process.stdout.write(
    `${target}: ${calibrated} estimates calibrated, ${formula} from the formula alone\n  ${lines.filter((l) => l.startsWith('dry run (')).join('')}\n`,
  );
  const summary = lines.find((l) => l.startsWith('dry run ('));
  const compute = seconds(/planned compute ~(\S+)/.exec(summary ?? '')?.[1] ?? '');
  const wall = seconds(/~(\S+) wall/.exec(summary ?? '')?.[1] ?? '');
  const g = gridScenario(lines, 400); // params.yaml: cpu.evaluation.count
  if (g.nodes > 0) {
    const delta = g.scenario - g.calibrated;
    process.stdout.write(
      `  ${g.nodes} grid evaluations: ${hm(g.calibrated)} as calibrated on random pixels, ${hm(g.scenario)} at the paper's Table 1 accuracies;\n` +
        `  ${target} at those accuracies: compute ~${hm(compute + delta)}, ~${hm(wall + delta / 2)} wall at --jobs 2\n`,
    );
  }
}
