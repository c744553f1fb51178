import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { LineageDb } from '../engine/state/db.ts';
import { Estimator } from '../engine/plan/estimates.ts';
import type { NodeSpec } from '../engine/core/project.ts';
import { Reporter } from '../engine/cli/reporter.ts';
import { RunProgress } from '../engine/run/run-progress.ts';
import { defineStage } from '../engine/core/stage.ts';

/** Calibrated plan estimates and the whole run's progress, on a hand-filled lineage database. */

const work = defineStage({
  name: 'work',
  version: 1,
  module: import.meta.url,
  description: 'a stage whose formula is 10 s per unit of size',
  params: z.object({ size: z.number(), kind: z.string() }).strict(),
  inputs: {},
  outputs: {},
  estimateSeconds: (p, hints) => 10 * p.size * (typeof hints.scale === 'number' ? hints.scale : 1),
  similarity: (p) => [`${p.kind} size${p.size}`, p.kind],
  async run() {},
});

function node(id: string, params: { size: number; kind: string }, hints = {}): NodeSpec {
  return { id, stage: work, params, estimateHints: hints };
}

function withDb(f: (db: LineageDb) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rf-est-'));
  const db = new LineageDb(join(dir, 'lineage.sqlite'));
  try {
    f(db);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records an execution of `spec` that took `seconds`, as repro does. */
function ran(db: LineageDb, est: Estimator, spec: NodeSpec, seconds: number, status: 'succeeded' | 'failed' = 'succeeded'): void {
  const run = db.startRun('repro', 'p', [], 'h');
  const id = db.startExecution({
    runId: run,
    key: spec.id,
    nodeId: spec.id,
    stage: 'work',
    stageVersion: 1,
    codeDigest: 'c',
    params: JSON.stringify(spec.params),
    inputs: '[]',
    host: 'h',
  });
  db.endExecution(id, { status, durationS: seconds, environment: { backend: 'x', estimate: est.record(spec, spec.params) } });
}

test('without measurements the formula stands; a measured node calibrates itself, then similar nodes, most specific key first', () => {
  withDb((db) => {
    const a = node('a', { size: 1, kind: 'k' });
    const fresh = new Estimator(db, 'backend=native');
    assert.deepEqual(fresh.estimate(a, a.params), { seconds: 10, samples: 0, basis: undefined });

    ran(db, fresh, a, 30); // 3x the formula
    ran(db, fresh, node('other', { size: 1, kind: 'z' }), 1); // another kind: must not calibrate 'k'
    const est = new Estimator(db, 'backend=native');
    assert.deepEqual(est.estimate(a, a.params), { seconds: 30, samples: 1, basis: 'same params' });
    // Changed size: no same-params or same-size run, so the kind's ratio (3x) scales the formula.
    const b = node('b', { size: 4, kind: 'k' });
    assert.deepEqual(est.estimate(b, b.params), { seconds: 120, samples: 1, basis: 'k' });
    // Hints are part of "same params": a bigger data set is not the same node.
    const c = node('c', { size: 1, kind: 'k' }, { scale: 2 });
    assert.equal(est.estimate(c, c.params)!.basis, 'k size1');
    assert.equal(est.estimate(c, c.params)!.seconds, 60);
    // A kind never measured: formula alone.
    const d = node('d', { size: 1, kind: 'new' });
    assert.equal(est.estimate(d, d.params)!.samples, 0);
  });
});

test('only succeeded executions in the same context calibrate, and the median of the recent ones is used', () => {
  withDb((db) => {
    const a = node('a', { size: 1, kind: 'k' });
    const wasm = new Estimator(db, 'backend=wasm');
    ran(db, wasm, a, 1000);
    ran(db, new Estimator(db, 'backend=native'), a, 500, 'failed');
    assert.equal(new Estimator(db, 'backend=native').estimate(a, a.params)!.samples, 0, 'wasm timings and failed runs do not calibrate native');
    const native = new Estimator(db, 'backend=native');
    for (const s of [20, 40, 1000]) ran(db, native, a, s);
    const e = new Estimator(db, 'backend=native').estimate(a, a.params)!;
    assert.equal(e.samples, 3);
    assert.equal(e.seconds, 40, 'median, so one outlier (a loaded machine) does not swing the plan');
  });
});

test('run progress: done of total, failed, running, and an ETA from the remaining estimates over the jobs', () => {
  let now = 0;
  const estimates = new Map([
    ['a', 100],
    ['b', 100],
    ['c', 200],
    ['d', 200],
  ]);
  const p = new RunProgress(5, estimates, 2, () => now);
  p.cachedNode('a');
  p.start('b');
  now = 50_000;
  let s = p.state();
  assert.equal(s.done, 1);
  assert.equal(s.running, 1);
  // b: 50 s left of its 100; c, d: 200 each; the unestimated fifth node counts as the mean (150).
  assert.equal(s.etaSeconds, (50 + 200 + 200 + 150) / 2);
  p.progress('b', 3, 4); // 3/4 done after 50 s: 50/3 s left
  assert.ok(Math.abs(p.state().etaSeconds - (50 / 3 + 550) / 2) < 1e-9);
  p.done('b', 200); // took twice its estimate: the rest is scaled by 2
  s = p.state();
  assert.equal(s.done, 2);
  assert.equal(s.etaSeconds, (2 * 400 + 2 * 150) / 2);
  p.fail('c');
  p.skip('d');
  p.start('e');
  p.done('e', 1);
  s = p.state();
  assert.deepEqual([s.done, s.failed, s.skipped, s.running, s.etaSeconds], [3, 1, 1, 0, 0]);
});

test('the reporter prints the whole run as plain lines when not on a terminal', () => {
  const lines: string[] = [];
  const r = new Reporter({ tty: false, verbose: false, dryRun: false, write: (l) => lines.push(l) });
  r.handle({
    type: 'plan',
    nodes: 3,
    targets: ['t'],
    estimates: new Map([
      ['a', 10],
      ['b', 10],
      ['c', 10],
    ]),
    jobs: 1,
  });
  r.handle({ type: 'cached', node: 'a', key: 'k' });
  r.handle({ type: 'start', node: 'b', key: 'k', reasons: ['never run'] });
  r.handle({ type: 'done', node: 'b', key: 'k', seconds: 20 });
  r.handle({ type: 'start', node: 'c', key: 'k', reasons: ['never run'] });
  r.handle({ type: 'failed', node: 'c', error: 'boom', logFile: undefined });
  r.close();
  const runLines = lines.filter((l) => l.startsWith('  run: '));
  assert.equal(runLines.length, 2, lines.join('\n'));
  assert.match(runLines[0]!, /^ {2}run: 2\/3 done, 1 cached, 0 failed, 0 running, elapsed \S+, ETA ~20s$/);
  assert.match(runLines[1]!, /^ {2}run: 2\/3 done, 1 cached, 1 failed, 0 running, elapsed \S+, ETA 0s$/);
});

test('dry-run lines say which estimates are calibrated', () => {
  const lines: string[] = [];
  const r = new Reporter({ tty: false, verbose: false, dryRun: true, write: (l) => lines.push(l) });
  r.handle({ type: 'would-run', node: 'a', key: undefined, reasons: ['never run'], estimateSeconds: 90, calibration: { samples: 2, basis: 'k' } });
  r.handle({ type: 'would-run', node: 'b', key: undefined, reasons: ['never run'], estimateSeconds: 5 });
  assert.match(lines[0]!, /a {2}\(~1m30s, calibrated on 2 runs of k\)/);
  assert.match(lines[1]!, /b {2}\(~5\.0s, formula, not yet measured here\)/);
});

test('a dry-run line with a long id and its estimate fits 100 columns: the estimate moves to the next line', () => {
  const lines: string[] = [];
  const r = new Reporter({ tty: false, verbose: false, dryRun: true, write: (l) => lines.push(l) });
  const node = 'evaluate@q3-gresnet-resnet18-d-stdstar-lr0.05-grid775_10';
  r.handle({
    type: 'would-run',
    node,
    key: undefined,
    reasons: ['never run'],
    estimateSeconds: 59,
    calibration: { samples: 3, basis: 'resnet50 w0.0625 b1111 std bs64 32px' },
  });
  const shown = lines.join('\n').split('\n');
  assert.deepEqual(
    shown.filter((l) => l.length > 100),
    [],
  );
  assert.equal(shown[0], `  to run    ${node}`);
  assert.equal(shown[1], '              (~59s, calibrated on 3 runs of resnet50 w0.0625 b1111 std bs64 32px)');
});

test("the plan's wall time is a list schedule over the jobs that respects dependencies", async () => {
  const { scheduleSeconds } = await import('../engine/plan/estimates.ts');
  const w = (seconds: number, ...deps: string[]) => ({ seconds, deps });
  // a(10) -> b(10) -> c(10) is the critical path; d, e (5 each) fit beside it on a second lane.
  const work = new Map([
    ['a', w(10)],
    ['b', w(10, 'a')],
    ['c', w(10, 'b')],
    ['d', w(5)],
    ['e', w(5)],
  ]);
  assert.equal(scheduleSeconds(work, 1), 40);
  assert.equal(scheduleSeconds(work, 2), 30);
  assert.equal(scheduleSeconds(work, 8), 30, 'more lanes cannot beat the critical path');
  // A dependency outside the plan (cached) does not hold anything back.
  assert.equal(scheduleSeconds(new Map([['x', w(3, 'cached')]]), 2), 3);
});

test('durations round before they split into units (no "1h60m", no "3m60s")', async () => {
  const { fmtDuration } = await import('../engine/cli/reporter.ts');
  assert.equal(fmtDuration(7199), '2h00m');
  assert.equal(fmtDuration(239.7), '4m00s');
  assert.equal(fmtDuration(3599.8), '1h00m');
  assert.equal(fmtDuration(65), '1m05s');
  assert.equal(fmtDuration(5400), '1h30m');
});

test('a refitted formula does not skew calibrations measured under the old one: measurements are divided by the formula as it is now', () => {
  withDb((db) => {
    let factor = 1;
    const refit = defineStage({
      name: 'work',
      version: 1,
      module: import.meta.url,
      description: 'a formula whose constant is refitted between two plans',
      params: z.object({ size: z.number(), kind: z.string() }).strict(),
      inputs: {},
      outputs: {},
      estimateSeconds: (p) => 10 * p.size * factor,
      similarity: (p) => [p.kind],
      async run() {},
    });
    const measured = { id: 'm', stage: refit, params: { size: 2, kind: 'conv' }, estimateHints: {} } satisfies NodeSpec;
    const planned = { id: 'p', stage: refit, params: { size: 4, kind: 'conv' }, estimateHints: {} } satisfies NodeSpec;
    ran(db, new Estimator(db, '', [refit]), measured, 80); // formula said 20 s, it took 80 s: ratio 4
    assert.equal(new Estimator(db, '', [refit]).estimate(planned, planned.params)!.seconds, 160);
    factor = 4; // the formula refitted to what was measured
    assert.equal(new Estimator(db, '', [refit]).estimate(planned, planned.params)!.seconds, 160, 'same plan after the refit');
    assert.equal(new Estimator(db, '', [refit]).estimate(measured, measured.params)!.seconds, 80, 'the measured node plans as measured');
  });
});

test('waiting on a node of the same run (two ids, one key) says so instead of blaming another run', () => {
  const lines: string[] = [];
  const r = new Reporter({ tty: false, verbose: false, dryRun: false, write: (l) => lines.push(l) });
  const holder = { pid: 1, host: 'h', runId: 7, nodeId: 'train@q2-ResNet-50-alpha0', since: '2026-12-01T10:00:00Z' };
  r.handle({ type: 'waiting', node: 'train@q3-ResNet-50-D-std', holder, sameRun: true });
  r.handle({ type: 'waiting', node: 'x', holder });
  assert.equal(
    lines[0],
    '  waiting   train@q3-ResNet-50-D-std: the same computation (same key) as train@q2-ResNet-50-alpha0, which this run is doing once for both',
  );
  assert.match(lines[1]!, /x: locked by run 7 \(pid 1 on h/);
});
