import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { ProgressEvent } from '../../contracts/progress.ts';
import type { ReproEvent } from '../run/events.ts';
import { RunProgress, type RunProgressState } from '../run/run-progress.ts';
import { WIDTH, wrapText } from './format.ts';

/**
 * cli-progress (and the readline and stream modules it loads) only when a terminal shows bars:
 * a no-op or a piped run never needs it, and every start paid for loading it.
 */
let bars: typeof cliProgress | undefined;
const progressBars = (): typeof cliProgress => (bars ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgress);

/**
 * Renders repro events: live bars (rate and ETA) for running nodes on a terminal, plain lines in a
 * log or CI (a progress line at every tenth of the work, or every 30 s, whichever comes first).
 * The whole run has its own line (nodes done of total, failed, elapsed, ETA): a bar on a terminal,
 * and otherwise a plain line after every finished node and at least once a minute.
 */

export interface ReporterOptions {
  readonly tty: boolean;
  /** Print cached nodes one by one (otherwise a dry run counts them in one line). */
  readonly verbose: boolean;
  readonly dryRun: boolean;
  readonly write: (line: string) => void;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  // Round first, so 59.6 s of a minute never prints as "60s" (nor 59.6 minutes as "60m").
  if (s < 3600 - 0.5) {
    const t = Math.round(s);
    return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  }
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtInfo(info: ProgressEvent['info']): string {
  if (!info) return '';
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(3)) : v}`)
    .join(' ');
}

interface Track {
  readonly start: number;
  firstDone: number | undefined;
  firstAt: number;
  lastDecile: number;
  lastLine: number;
  bar: cliProgress.SingleBar | undefined;
}

export class Reporter {
  private readonly tracks = new Map<string, Track>();
  private multibar: cliProgress.MultiBar | undefined;
  private run: RunProgress | undefined;
  private runBar: cliProgress.SingleBar | undefined;
  private lastRunLine = Date.now();

  constructor(private readonly o: ReporterOptions) {}

  private line(text: string): void {
    if (this.multibar) this.multibar.log(`${text}\n`);
    else this.o.write(text);
  }

  handle(e: ReproEvent): void {
    switch (e.type) {
      case 'plan':
        this.line(`${this.o.dryRun ? 'dry run: ' : ''}${e.nodes} nodes needed by ${e.targets.join(', ')}`);
        if (!this.o.dryRun) this.run = new RunProgress(e.nodes, e.estimates ?? new Map(), e.jobs ?? 1);
        return;
      case 'cached':
        this.run?.cachedNode(e.node);
        if (this.o.verbose) this.line(`  cached    ${e.node}`);
        return;
      case 'would-run': {
        const how = e.calibration
          ? `calibrated on ${e.calibration.samples} run${e.calibration.samples > 1 ? 's' : ''} of ${e.calibration.basis}`
          : 'formula, not yet measured here';
        const est = e.estimateSeconds !== undefined ? `(~${fmtDuration(e.estimateSeconds)}, ${how})` : '';
        // Everything folds to the terminal's 100 columns: a long id leaves its estimate to the next
        // line, and the reasons wrap under their 14-column indent.
        const head = `  to run    ${e.node}`;
        const first = est === '' ? head : head.length + 2 + est.length <= WIDTH ? `${head}  ${est}` : `${head}\n              ${est}`;
        const because = wrapText(`because ${e.reasons.join('; ')}`, WIDTH - 14).map((l) => `              ${l}`);
        this.line(`${first}\n${because.join('\n')}`);
        return;
      }
      case 'waiting': {
        const h = e.holder;
        if (e.sameRun && h) this.line(`  waiting   ${e.node}: the same computation (same key) as ${h.nodeId}, which this run is doing once for both`);
        else this.line(`  waiting   ${e.node}: locked by ${h ? `run ${h.runId} (pid ${h.pid} on ${h.host}, since ${h.since})` : 'another run'}`);
        return;
      }
      case 'start':
        this.run?.start(e.node);
        this.tracks.set(e.node, { start: Date.now(), firstDone: undefined, firstAt: Date.now(), lastDecile: -1, lastLine: Date.now(), bar: undefined });
        this.line(`  run       ${e.node}  (${e.reasons.join('; ')})`);
        return;
      case 'progress':
        this.run?.progress(e.node, e.event.done, e.event.total);
        this.progress(e.node, e.event);
        this.runTick(false);
        return;
      case 'log':
        this.line(`  [${e.node}] ${e.message}`);
        return;
      case 'done':
        this.finishBar(e.node);
        this.run?.done(e.node, e.seconds);
        this.line(`  done      ${e.node}  ${fmtDuration(e.seconds)}`);
        this.runTick(true);
        return;
      case 'failed': {
        this.finishBar(e.node);
        const indented = e.error
          .split('\n')
          .slice(0, 25)
          .map((l) => `              ${l}`)
          .join('\n');
        this.run?.fail(e.node);
        this.line(`  FAILED    ${e.node}\n${indented}${e.logFile ? `\n              log: ${e.logFile}` : ''}`);
        this.runTick(true);
        return;
      }
      case 'skipped':
        this.run?.skip(e.node);
        this.line(`  skipped   ${e.node}: ${e.reason}`);
        return;
      case 'repaired':
        this.line(`  repair    ${e.node}: ${e.message}`);
        return;
    }
  }

  /** The whole run's line or bar; plain lines after each finished node (`force`) or once a minute. */
  private runTick(force: boolean): void {
    if (this.run === undefined) return;
    const s = this.run.state();
    if (this.o.tty) {
      const multibar = this.bars();
      const payload = { node: 'run', unit: 'nodes', rate: '', etaText: fmtDuration(s.etaSeconds), info: runInfo(s) };
      if (this.runBar === undefined) {
        this.runBar = multibar.create(s.total, s.done + s.failed + s.skipped, payload, {
          format: '  run |{bar}| {value}/{total} nodes finished  ETA {etaText}  ({info})',
        });
      } else this.runBar.update(s.done + s.failed + s.skipped, payload);
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastRunLine < 60_000) return;
    this.lastRunLine = now;
    this.o.write(runLine(s));
  }

  private bars(): cliProgress.MultiBar {
    this.multibar ??= new (progressBars().MultiBar)(
      {
        format: '  {node} |{bar}| {percentage}% {value}/{total} {unit}  {rate}/s  ETA {etaText}  {info}',
        hideCursor: true,
        clearOnComplete: true,
        stopOnComplete: false,
        barsize: 24,
      },
      progressBars().Presets.shades_classic,
    );
    return this.multibar;
  }

  private progress(node: string, ev: ProgressEvent): void {
    const t = this.tracks.get(node);
    if (t === undefined) return;
    const now = Date.now();
    if (t.firstDone === undefined) {
      t.firstDone = ev.done;
      t.firstAt = now;
    }
    const elapsed = (now - t.firstAt) / 1000;
    const rate = elapsed > 0 ? (ev.done - t.firstDone) / elapsed : 0;
    const eta = rate > 0 ? (ev.total - ev.done) / rate : Number.NaN;
    const info = fmtInfo(ev.info);
    if (this.o.tty) {
      const payload = { node, unit: ev.unit, rate: rate.toPrecision(3), etaText: fmtDuration(eta), info };
      if (t.bar === undefined) t.bar = this.bars().create(ev.total, ev.done, payload);
      else {
        t.bar.setTotal(ev.total);
        t.bar.update(ev.done, payload);
      }
      return;
    }
    const decile = ev.total > 0 ? Math.floor((10 * ev.done) / ev.total) : 0;
    if (decile > t.lastDecile || now - t.lastLine > 30_000) {
      t.lastDecile = decile;
      t.lastLine = now;
      const pct = ev.total > 0 ? Math.floor((100 * ev.done) / ev.total) : 0;
      this.o.write(`  [${node}] ${pct}% ${ev.done}/${ev.total} ${ev.unit}  ${rate.toPrecision(3)} ${ev.unit}/s  ETA ${fmtDuration(eta)}  ${info}`.trimEnd());
    }
  }

  private finishBar(node: string): void {
    const t = this.tracks.get(node);
    if (t?.bar && this.multibar) {
      this.multibar.remove(t.bar);
    }
    this.tracks.delete(node);
    if (this.multibar && this.tracks.size === 0 && this.runBar === undefined) {
      this.multibar.stop();
      this.multibar = undefined;
    }
  }

  close(): void {
    this.multibar?.stop();
    this.multibar = undefined;
    this.runBar = undefined;
  }
}

function runInfo(s: RunProgressState): string {
  const parts = [`${s.done}/${s.total} done`];
  if (s.cached > 0) parts.push(`${s.cached} cached`);
  parts.push(`${s.failed} failed`);
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  parts.push(`${s.running} running`, `elapsed ${fmtDuration(s.elapsedSeconds)}`);
  return parts.join(', ');
}

/** `run: 12/116 done, 3 cached, 0 failed, 2 running, elapsed 3m02s, ETA ~41m00s` */
export function runLine(s: RunProgressState): string {
  const eta = s.done + s.failed + s.skipped >= s.total ? '0s' : Number.isFinite(s.etaSeconds) ? `~${fmtDuration(s.etaSeconds)}` : 'unknown (no estimates)';
  return `  run: ${runInfo(s)}, ETA ${eta}`;
}

export { fmtDuration };
