/**
 * The whole run's progress: nodes done of total, failed, running, elapsed and an ETA. The ETA is
 * the estimated work left (each node's plan estimate, less what a running node has done, scaled
 * by how this run's finished nodes compared with their estimates) spread over the parallel jobs.
 * Pure bookkeeping driven by repro events; the reporter renders it.
 */

export interface RunProgressState {
  readonly total: number;
  /** Up to date: ran or cached. */
  readonly done: number;
  readonly cached: number;
  readonly failed: number;
  readonly skipped: number;
  readonly running: number;
  readonly elapsedSeconds: number;
  /** NaN when nothing is known about the remaining work. */
  readonly etaSeconds: number;
}

interface Running {
  readonly since: number;
  fraction: number | undefined;
}

export class RunProgress {
  private readonly started: number;
  private readonly running = new Map<string, Running>();
  private readonly finished = new Set<string>();
  private cached = 0;
  private ran = 0;
  private failed = 0;
  private skipped = 0;
  private measured = 0;
  private estimatedOfMeasured = 0;

  constructor(
    private readonly total: number,
    private readonly estimates: ReadonlyMap<string, number>,
    private readonly jobs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  cachedNode(node: string): void {
    if (this.finish(node)) this.cached++;
  }

  start(node: string): void {
    this.running.set(node, { since: this.now(), fraction: undefined });
  }

  progress(node: string, done: number, total: number): void {
    const r = this.running.get(node);
    if (r && total > 0) r.fraction = Math.min(1, Math.max(0, done / total));
  }

  done(node: string, seconds: number): void {
    if (!this.finish(node)) return;
    this.ran++;
    const est = this.estimates.get(node);
    if (est !== undefined && est > 0) {
      this.measured += seconds;
      this.estimatedOfMeasured += est;
    }
  }

  fail(node: string): void {
    if (this.finish(node)) this.failed++;
  }

  skip(node: string): void {
    if (this.finish(node)) this.skipped++;
  }

  private finish(node: string): boolean {
    this.running.delete(node);
    if (this.finished.has(node)) return false;
    this.finished.add(node);
    return true;
  }

  state(): RunProgressState {
    const now = this.now();
    // This run's own measured/estimated ratio corrects plans made from formulas alone.
    const scale = this.estimatedOfMeasured > 0 ? this.measured / this.estimatedOfMeasured : 1;
    const known = [...this.estimates.values()];
    const fallback = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : Number.NaN;
    let left = 0;
    let pending = 0;
    for (const [node, est0] of this.estimates) {
      if (this.finished.has(node)) continue;
      pending++;
      const est = est0 * scale;
      const r = this.running.get(node);
      if (r === undefined) left += est;
      else if (r.fraction !== undefined && r.fraction > 0) left += ((now - r.since) / 1000) * ((1 - r.fraction) / r.fraction);
      else left += Math.max(0, est - (now - r.since) / 1000);
    }
    // Nodes the plan had no estimate for count as an average one.
    const finishedUnestimated = [...this.finished].filter((n) => !this.estimates.has(n)).length;
    const unestimated = Math.max(0, this.total - this.estimates.size - finishedUnestimated);
    if (unestimated > 0) {
      pending += unestimated;
      left += unestimated * fallback * scale;
    }
    const lanes = Math.max(1, Math.min(this.jobs, pending));
    return {
      total: this.total,
      done: this.ran + this.cached,
      cached: this.cached,
      failed: this.failed,
      skipped: this.skipped,
      running: this.running.size,
      elapsedSeconds: (now - this.started) / 1000,
      etaSeconds: pending === 0 ? 0 : left / lanes,
    };
  }
}
