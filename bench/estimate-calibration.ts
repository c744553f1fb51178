/**
 * How close a calibrated plan estimate comes to the time the run then takes: on tiny sizes through
 * the real CLI, train one ResNet-18 at width 0.125, ask the plan (--dry-run) for width 0.25, which
 * calibrates on the first run through the architecture-level key, then train width 0.25 and print
 * estimate / measured. The planner aims for 0.5-2x. The ratio depends on what else the machine
 * runs at the time, which is why this is a benchmark and test/experiments-estimates.test.ts checks
 * only the calibration arithmetic.
 *
 *   npx tsx bench/estimate-calibration.ts [--from 0.125 --to 0.25 --epochs 3]
 */
import { tinyProfile } from '../test/helpers/tiny-profile.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { benchArg } from './bench-arg.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const from = Number(benchArg('from', '0.125'));
const to = Number(benchArg('to', '0.25'));
const epochs = Number(benchArg('epochs', '3'));

function cli(dir: string, args: string[]): string {
  return execFileSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** "1m05s", "42s", "3.5s", "1h02m" (engine/cli/reporter.ts fmtDuration). */
function parseDuration(s: string): number {
  const h = /(\d+)h/.exec(s)?.[1];
  const mnt = /(\d+)m(?!s)/.exec(s)?.[1];
  const sec = /([\d.]+)s/.exec(s)?.[1];
  return Number(h ?? 0) * 3600 + Number(mnt ?? 0) * 60 + Number(sec ?? 0);
}

const dir = mkdtempSync(join(tmpdir(), 'rf-calib-bench-'));
const target = 'train@q2-resnet18-alpha0';
try {
  writeFileSync(join(dir, 'params.yaml'), tinyProfile(from, epochs));
  cli(dir, ['repro', target]);
  writeFileSync(join(dir, 'params.yaml'), tinyProfile(to, epochs));
  const dry = cli(dir, ['repro', target, '--dry-run']);
  const m = new RegExp(`to run +${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\(~([0-9hms.]+), calibrated on 1 run of ([^)]+)\\)`).exec(dry);
  if (!m) throw new Error(`the plan has no calibrated estimate for ${target}:\n${dry}`);
  const estimate = parseDuration(m[1]!);
  cli(dir, ['repro', target]);
  const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
  const rows = db.prepare("SELECT duration_s FROM executions WHERE node_id = ? AND status = 'succeeded' ORDER BY id").all(target) as { duration_s: number }[];
  db.close();
  const measured = rows[1]!.duration_s;
  const ratio = estimate / measured;
  console.log(
    `width ${from} -> ${to}, ${epochs} epochs: first run ${rows[0]!.duration_s.toFixed(1)} s; estimate ${estimate.toFixed(1)} s (calibrated on ${m[2]}), measured ${measured.toFixed(1)} s`,
  );
  console.log(`estimate / measured = ${ratio.toFixed(2)} (${ratio > 0.5 && ratio < 2 ? 'within' : 'OUTSIDE'} the planner's 0.5-2x aim)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
