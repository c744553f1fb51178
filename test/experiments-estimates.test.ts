// A run, then a dry run with a changed width: the plan's estimate for the new width is calibrated
// on the recorded run exactly as engine/plan/estimates.ts says (the formula at the new params times the
// measured/formula ratio of the run), on tiny sizes through the real CLI. How close such an
// estimate comes to the time the run then takes depends on the machine's load, so that claim is
// a benchmark (bench/estimate-calibration.ts), not a test.
import { tinyProfile } from './helpers/tiny-profile.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { EstimateHints } from '../engine/core/stage.ts';
import { train, trainParams } from '../stages/train.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');

function cli(dir: string, args: string[]): string {
  return execFileSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('after one run, a dry run with a changed width is calibrated on it as the formula says', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-calib-'));
  const target = 'train@q2-resnet18-alpha0';
  const planLine = new RegExp(`to run +${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\(~([0-9hms.]+), ([^)]+)\\)`);
  try {
    writeFileSync(join(dir, 'params.yaml'), tinyProfile(0.25));
    const fresh = planLine.exec(cli(dir, ['repro', target, '--dry-run']));
    assert.ok(fresh, 'the plan of a fresh store estimates the node');
    assert.equal(fresh[2], 'formula, not yet measured here');

    writeFileSync(join(dir, 'params.yaml'), tinyProfile(0.125));
    cli(dir, ['repro', target]);
    writeFileSync(join(dir, 'params.yaml'), tinyProfile(0.25));
    const dry = cli(dir, ['repro', target, '--dry-run']);
    const m = planLine.exec(dry);
    assert.ok(m, dry);
    assert.equal(m[2], 'calibrated on 1 run of resnet18 std', 'a different width falls back to the architecture-level key');
    const shown = parseDuration(m[1]!);

    const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT params, environment, duration_s FROM executions WHERE node_id = ? AND status = 'succeeded' ORDER BY id").all(target) as {
      params: string;
      environment: string;
      duration_s: number;
    }[];
    db.close();
    assert.equal(rows.length, 1);
    const measured = rows[0]!.duration_s;
    assert.ok(measured > 0, `recorded duration ${measured}`);
    const params = trainParams.parse(JSON.parse(rows[0]!.params));
    type Params = typeof params;
    const hints = (JSON.parse(rows[0]!.environment) as { estimate: { hints: EstimateHints } }).estimate.hints;
    assert.equal(params.model.width, 0.125);
    const formula = (p: Params): number => train.estimateSeconds!(p, hints);
    const wider: Params = { ...params, model: { ...params.model, width: 0.25 } };
    const expected = (formula(wider) * measured) / formula(params);
    assert.ok(expected > 0 && Number.isFinite(expected));
    // The plan prints tenths of a second below 10 s, whole seconds above.
    const rounding = expected < 10 ? 0.05 : 0.5;
    assert.ok(Math.abs(shown - expected) <= rounding + 1e-9, `plan shows ${m[1]}, the formula calibrated on ${measured} s gives ${expected} s`);
    assert.ok(formula(wider) > formula(params), 'a wider model costs more by the formula');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** "1m05s", "42s", "3.5s", "1h02m" (engine/cli/reporter.ts fmtDuration). */
function parseDuration(s: string): number {
  const h = /(\d+)h/.exec(s)?.[1];
  const mnt = /(\d+)m(?!s)/.exec(s)?.[1];
  const sec = /([\d.]+)s/.exec(s)?.[1];
  return Number(h ?? 0) * 3600 + Number(mnt ?? 0) * 60 + Number(sec ?? 0);
}
