// A run, then a dry run with a changed width: the calibrated estimate is within 2x of what the
// second run then takes (the goal), on tiny sizes through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');

function profile(width: number): string {
  const base = readFileSync(join(ROOT, 'params.yaml'), 'utf8');
  return `${base.replace('default_profile: demo', 'default_profile: tiny')}
  tiny:
    extends: demo
    jobs: 1
    data:
      synthetic: { seed: 0, trainCount: 384, testCount: 100 }
    robust:
      build: { count: 384 }
      nonRobust: { count: 384 }
    q2:
      alphas: [0]
      models:
        - { name: ResNet-18, model: { arch: resnet18, width: ${width}, blocks: [1, 1, 1, 1] } }
      train: { epochs: 3 }
`;
}

function cli(dir: string, args: string[]): string {
  return execFileSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('after one run, a dry run with a changed width is calibrated and within 2x of the measured second run', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-calib-'));
  const target = 'train@q2-ResNet-18-alpha0';
  try {
    writeFileSync(join(dir, 'params.yaml'), profile(0.125));
    cli(dir, ['repro', target]);
    writeFileSync(join(dir, 'params.yaml'), profile(0.25));
    const dry = cli(dir, ['repro', target, '--dry-run']);
    const m = new RegExp(`to run +${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\(~([0-9hms.]+), calibrated on 1 run of ([^)]+)\\)`).exec(dry);
    assert.ok(m, dry);
    assert.match(m[2]!, /^resnet18 std$/, 'a different width falls back to the architecture-level key');
    const estimate = parseDuration(m[1]!);
    cli(dir, ['repro', target]);
    const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT duration_s FROM executions WHERE node_id = ? AND status = 'succeeded' ORDER BY id").all(target) as { duration_s: number }[];
    db.close();
    assert.equal(rows.length, 2);
    const measured = rows[1]!.duration_s;
    const ratio = estimate / measured;
    process.stdout.write(
      `# width 0.125 -> 0.25: estimate ${estimate.toFixed(1)} s, measured ${measured.toFixed(1)} s (ratio ${ratio.toFixed(2)}; first run ${rows[0]!.duration_s.toFixed(1)} s)\n`,
    );
    assert.ok(ratio > 0.5 && ratio < 2, `estimate ${estimate} s vs measured ${measured} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** "1m05s", "42s", "3.5s", "1h02m" (engine/reporter.ts fmtDuration). */
function parseDuration(s: string): number {
  const h = /(\d+)h/.exec(s)?.[1];
  const mnt = /(\d+)m(?!s)/.exec(s)?.[1];
  const sec = /([\d.]+)s/.exec(s)?.[1];
  return Number(h ?? 0) * 3600 + Number(mnt ?? 0) * 60 + Number(sec ?? 0);
}
