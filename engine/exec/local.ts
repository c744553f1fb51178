import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { freshCompiledWorker } from '../fast-start/compiled-worker.ts';
import type { Execution, Executor } from './executor.ts';
import { END_OF_NODE, type DriverMessage, type ExecOutcome, type NodeTask, type WorkerMessage } from '../run/worker-protocol.ts';

/**
 * Nodes run in child processes: a crash, an abort or an out-of-memory kill in a stage ends that
 * process and fails that node, and the driver carries on. The child's stdout and stderr go to a
 * per-execution log file (tfjs and native code print there), whose tail is quoted on failure.
 *
 * Starting Node with the TypeScript loader and importing tfjs and the project takes about two
 * seconds, so by default workers are persistent: a worker that finished a node cleanly waits for
 * the next one (worker.ts checks the code is unchanged before, and the process state after, every
 * node; a worker that cannot vouch for its state exits and a fresh one takes its place). With
 * `isolate`, every worker runs exactly one node, and one spare is kept booted so the next node
 * starts at once.
 */

const WORKER = fileURLToPath(new URL('../run/worker.ts', import.meta.url));
// Resolved when the first worker starts, not at every CLI start (a no-op needs no worker).
let tsx: string | undefined;
const tsxLoader = (): string => (tsx ??= import.meta.resolve('tsx'));

export interface LocalExecutorOptions {
  /** File URL of the project module; workers import it while they wait for a task. */
  readonly projectModule: string;
  /** Extra node flags for workers, e.g. ['--max-old-space-size=16384']. */
  readonly nodeArgs?: readonly string[];
  /** Added to the driver's environment for every worker. */
  readonly env?: Readonly<Record<string, string>>;
  /** One process per node (`repro --isolate`), for debugging; otherwise workers run many nodes. */
  readonly isolate?: boolean;
  /** Fork the project's compiled worker while it is fresh (default); false: always the tsx one. */
  readonly compiledWorker?: boolean;
}

/** One output stream of a worker, cut into nodes at the END_OF_NODE markers. */
class NodeStream {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  /** True once the current node's marker has passed: output then belongs to the next node. */
  ended = false;

  constructor(
    private readonly route: (text: string, current: boolean) => void,
    private readonly onEnd: () => void,
  ) {}

  write(chunk: Buffer): void {
    let text = this.carry + this.decoder.write(chunk);
    this.carry = '';
    for (let i = text.indexOf(END_OF_NODE); i >= 0; i = text.indexOf(END_OF_NODE)) {
      if (i > 0) this.route(text.slice(0, i), !this.ended);
      text = text.slice(i + END_OF_NODE.length);
      this.ended = true;
      this.onEnd();
    }
    // Hold back what could be the start of a marker split across chunks (it begins with NUL).
    const nul = text.lastIndexOf('\u0000');
    if (nul >= 0 && END_OF_NODE.startsWith(text.slice(nul))) {
      this.carry = text.slice(nul);
      text = text.slice(0, nul);
    }
    if (text.length > 0) this.route(text, !this.ended);
  }
}

/** Resolves when the process's stdio pipes have closed, or after `ms` at most. */
function pipesClosed(child: ChildProcess, ms: number): Promise<void> {
  const open = [child.stdout, child.stderr].filter((p) => p !== null && !p.closed && !p.destroyed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    let left = open.length;
    for (const p of open)
      p!.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
  });
}

/**
 * node:child_process, loaded on the first worker start: with net, dgram and the stream machinery it
 * pulls in, it is several milliseconds of a no-op `repro` that starts no worker.
 */
const childProcess = (): typeof import('node:child_process') => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

class WorkerProcess {
  readonly child: ChildProcess;
  /** Last lines of the current node's output, quoted when the worker dies. */
  tail: string[] = [];
  nodes = 0;
  private sink: NodeJS.WritableStream | undefined;
  /** Output that belongs to no execution yet (boot, or after a marker): goes to the next node's log. */
  private early: string[] = [];
  private readonly streams: NodeStream[] = [];
  private waitingForMarkers: (() => void) | undefined;
  /** Set when the process could not be started at all. */
  startError: string | undefined;

  constructor(options: LocalExecutorOptions, persistent: boolean) {
    // Checked at every start: a source edited during the run sends later workers back to tsx.
    const compiled = freshCompiledWorker(options.projectModule, 'local', options.compiledWorker !== false);
    this.child = childProcess().fork(compiled ?? WORKER, [options.projectModule, ...(persistent ? ['--persistent'] : [])], {
      execArgv: [...(compiled ? [] : ['--import', tsxLoader()]), ...(options.nodeArgs ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    for (const pipe of [this.child.stdout, this.child.stderr]) {
      const stream = new NodeStream(
        (text, current) => this.output(text, current),
        () => this.markerSeen(),
      );
      this.streams.push(stream);
      // Until a node runs, everything is early output.
      stream.ended = true;
      pipe?.on('data', (chunk: Buffer) => stream.write(chunk));
    }
    this.child.on('error', (e) => (this.startError ??= `worker could not start: ${e.message}`));
    this.idle();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.connected;
  }

  /** An idle worker must not keep the driver alive on its own. */
  idle(): void {
    this.child.unref();
    this.child.channel?.unref();
  }

  /** Starts a node: its output now goes to `logFile`. */
  assign(logFile: string | undefined): void {
    this.child.ref();
    this.child.channel?.ref();
    this.nodes++;
    this.tail = [];
    if (logFile !== undefined) {
      mkdirSync(dirname(logFile), { recursive: true });
      this.sink = createWriteStream(logFile, { flags: 'a' });
    }
    for (const text of this.early.splice(0)) this.output(text, true);
    for (const s of this.streams) s.ended = false;
  }

  /** Resolves once both streams have passed the current node's marker (or the worker is gone). */
  markersPassed(): Promise<void> {
    if (this.streams.every((s) => s.ended) || !this.alive) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.child.off('exit', done);
        this.waitingForMarkers = undefined;
        resolve();
      };
      this.waitingForMarkers = done;
      this.child.once('exit', done);
    });
  }

  /**
   * Closes the current node's log; resolves once what was written is on disk, so that whoever reads
   * the log after the node's outcome (a user, `inspect`, a driver about to exit) sees all of it.
   */
  release(): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    if (sink === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      sink.once('error', () => resolve());
      sink.end(() => resolve());
    });
  }

  private output(text: string, current: boolean): void {
    if (!current) {
      this.early.push(text);
      return;
    }
    this.tail.push(...text.split('\n').filter((l) => l.length > 0));
    if (this.tail.length > 40) this.tail.splice(0, this.tail.length - 40);
    if (this.sink) this.sink.write(text);
    else this.early.push(text);
  }

  private markerSeen(): void {
    if (this.waitingForMarkers && this.streams.every((s) => s.ended)) this.waitingForMarkers();
  }
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  /** Booted workers waiting for a node (at most one spare with `isolate`). */
  private readonly idle: WorkerProcess[] = [];
  private closed = false;

  constructor(private readonly options: LocalExecutorOptions) {}

  private get persistent(): boolean {
    return this.options.isolate !== true;
  }

  private take(): WorkerProcess {
    for (let w = this.idle.shift(); w !== undefined; w = this.idle.shift()) {
      if (w.alive) return w;
    }
    return new WorkerProcess(this.options, this.persistent);
  }

  private putBack(w: WorkerProcess): void {
    if (this.closed || !w.alive) {
      w.child.kill('SIGTERM');
      return;
    }
    w.idle();
    this.idle.push(w);
  }

  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void, logFile?: string): Execution {
    let current = this.take();
    // With one process per node, the next node's process boots while this one runs.
    if (!this.persistent && !this.closed && this.idle.length === 0) this.idle.push(new WorkerProcess(this.options, false));
    let killed = false;
    const outcome = (async (): Promise<ExecOutcome> => {
      // A worker whose code went stale refuses the node; a fresh one runs it (once more at most:
      // sources being edited all the time is the engine's code-digest check's to report).
      for (let attempt = 0; ; attempt++) {
        const r = await this.runOn(current, task, onMessage, logFile);
        if (r.kind === 'outcome' || killed) return r.kind === 'outcome' ? r.outcome : { ok: false, error: 'killed', exitCode: null, signal: 'SIGTERM' };
        if (attempt >= 1) return { ok: false, error: `worker refused the node twice: ${r.reason}`, exitCode: null, signal: null };
        onMessage({ type: 'log', message: `restarting the worker: ${r.reason}` });
        current = new WorkerProcess(this.options, this.persistent);
      }
    })();
    return {
      get pid() {
        return current.child.pid;
      },
      outcome,
      kill: () => {
        killed = true;
        current.child.kill('SIGTERM');
      },
    };
  }

  /** One node on one worker, to its outcome (or the worker's refusal). */
  private runOn(
    w: WorkerProcess,
    task: NodeTask,
    onMessage: (m: WorkerMessage) => void,
    logFile: string | undefined,
  ): Promise<{ kind: 'outcome'; outcome: ExecOutcome } | { kind: 'stale'; reason: string }> {
    const { child } = w;
    w.assign(logFile);
    return new Promise((resolve) => {
      let final: WorkerMessage | undefined;
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        child.off('message', onWorkerMessage);
        // 'exit' can come before the last of the process's output has been read: wait for its
        // pipes to close (briefly: a grandchild holding them open must not hang the run).
        void pipesClosed(child, 2000)
          .then(() => w.release())
          .then(() => settle(code, signal));
      };
      const settle = (code: number | null, signal: NodeJS.Signals | null) => {
        if (final?.type === 'stale') return resolve({ kind: 'stale', reason: final.reason });
        if (final?.type === 'done' && code === 0) return resolve({ kind: 'outcome', outcome: { ok: true, metrics: final.metrics } });
        if (final === undefined && w.startError !== undefined)
          return resolve({ kind: 'outcome', outcome: { ok: false, error: w.startError, exitCode: code, signal } });
        if (final?.type === 'failed') return resolve({ kind: 'outcome', outcome: { ok: false, error: final.stack ?? final.error, exitCode: code, signal } });
        const why = signal ? `worker killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed)' : ''}` : `worker exited with code ${code}`;
        const detail = w.tail.length ? `\n--- last worker output ---\n${w.tail.slice(-15).join('\n')}` : '';
        resolve({ kind: 'outcome', outcome: { ok: false, error: `${why} before reporting a result${detail}`, exitCode: code, signal } });
      };
      const onWorkerMessage = (m: WorkerMessage) => {
        if (m.type !== 'done' && m.type !== 'failed' && m.type !== 'stale') return onMessage(m);
        final = m;
        if (m.type === 'done' && m.retire !== undefined) onMessage({ type: 'log', message: `worker retired after this node: ${m.retire}` });
        // A persistent worker that finished cleanly stays up for the next node.
        if (m.type === 'done' && m.retire === undefined && this.persistent) {
          void w.markersPassed().then(() => {
            if (!w.alive) return; // it died meanwhile: onExit decides
            child.off('exit', onExit);
            child.off('message', onWorkerMessage);
            void w.release().then(() => {
              this.putBack(w);
              resolve({ kind: 'outcome', outcome: { ok: true, metrics: m.metrics } });
            });
          });
        }
      };
      child.on('message', onWorkerMessage);
      child.once('exit', onExit);
      const msg: DriverMessage = { type: 'run', task };
      child.send(msg);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.idle.splice(0)) w.child.kill('SIGTERM');
  }
}
