import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Execution, Executor } from './executor.ts';
import type { DriverMessage, ExecOutcome, NodeTask, WorkerMessage } from './worker-protocol.ts';

/**
 * Each node in its own child process: a crash, an abort or an out-of-memory kill in a stage ends
 * that process and fails that node, and the driver carries on. The child's stdout and stderr go to
 * a per-execution log file (tfjs and native code print there), whose tail is quoted on failure.
 *
 * Starting Node with the TypeScript loader and importing the project takes most of a second, so
 * once a node has run, one spare worker is kept booted (project imported, waiting for a task):
 * the next node starts at once. Every worker still runs exactly one node.
 */

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface LocalExecutorOptions {
  /** File URL of the project module; workers import it while they wait for a task. */
  readonly projectModule: string;
  /** Extra node flags for workers, e.g. ['--max-old-space-size=16384']. */
  readonly nodeArgs?: readonly string[];
  /** Added to the driver's environment for every worker. */
  readonly env?: Readonly<Record<string, string>>;
}

interface Booted {
  readonly child: ChildProcess;
  readonly tail: string[];
  /** Where output goes once the worker has a task (buffered until then). */
  sink: NodeJS.WritableStream | undefined;
  readonly early: Buffer[];
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  private spare: Booted | undefined;
  private closed = false;

  constructor(private readonly options: LocalExecutorOptions) {}

  private boot(): Booted {
    const child = fork(WORKER, [this.options.projectModule], {
      execArgv: ['--import', TSX, ...(this.options.nodeArgs ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.options.env },
    });
    const booted: Booted = { child, tail: [], sink: undefined, early: [] };
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        booted.tail.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
        if (booted.tail.length > 40) booted.tail.splice(0, booted.tail.length - 40);
        if (booted.sink) booted.sink.write(chunk);
        else booted.early.push(chunk);
      });
    }
    // A spare must not keep the driver alive on its own.
    child.unref();
    child.channel?.unref();
    return booted;
  }

  execute(task: NodeTask, onMessage: (m: WorkerMessage) => void, logFile?: string): Execution {
    const w = this.spare && this.spare.child.exitCode === null && this.spare.child.connected ? this.spare : this.boot();
    this.spare = this.closed ? undefined : this.boot();
    const { child, tail } = w;
    child.ref();
    child.channel?.ref();
    if (logFile !== undefined) {
      mkdirSync(dirname(logFile), { recursive: true });
      w.sink = createWriteStream(logFile, { flags: 'a' });
      for (const chunk of w.early.splice(0)) w.sink.write(chunk);
    }
    let final: ExecOutcome | undefined;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') final = { ok: true, metrics: m.metrics };
      else if (m.type === 'failed') final = { ok: false, error: m.stack ?? m.error, exitCode: null, signal: null };
      else onMessage(m);
    });
    const outcome = new Promise<ExecOutcome>((resolve) => {
      child.on('error', (e) => {
        final ??= { ok: false, error: `worker could not start: ${e.message}`, exitCode: null, signal: null };
      });
      child.on('exit', (code, signal) => {
        w.sink?.end();
        if (final?.ok && code === 0) return resolve(final);
        if (final !== undefined && !final.ok) return resolve({ ...final, exitCode: code, signal });
        const why = signal ? `worker killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed)' : ''}` : `worker exited with code ${code}`;
        const detail = tail.length ? `\n--- last worker output ---\n${tail.slice(-15).join('\n')}` : '';
        resolve({ ok: false, error: `${why} before reporting a result${detail}`, exitCode: code, signal });
      });
    });
    const msg: DriverMessage = { type: 'run', task };
    child.send(msg);
    return { pid: child.pid, outcome, kill: () => child.kill('SIGTERM') };
  }

  close(): void {
    this.closed = true;
    this.spare?.child.kill('SIGTERM');
    this.spare = undefined;
  }
}
