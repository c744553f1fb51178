import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { buildEntry } from '../../engine/fast-start/bundle.ts';

/**
 * A throwaway project folder for the toy pipeline of test/fixtures/toy, driven through the real
 * CLI in a child process, as a user would.
 */

const CLI = fileURLToPath(new URL('../fixtures/toy/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = import.meta.resolve('tsx');

/**
 * How the CLI is started: from the TypeScript sources through tsx (what `npx tsx pipeline.ts`
 * does), or from the compiled entry (`npm run build`), which starts three times faster and so
 * keeps the suite short. Both run the same engine code; workers always run the sources.
 */
export type Entry = 'tsx' | 'compiled';

let compiled: Promise<string> | undefined;
function compiledCli(): Promise<string> {
  compiled ??= (async () => {
    // Inside the checkout, so the bundle resolves packages from its node_modules.
    const dir = join(ROOT, 'dist', `test-${process.pid}`);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await buildEntry(CLI, dir, 'toy', ROOT);
    return join(dir, 'toy.mjs');
  })();
  return compiled;
}

let copies = 0;
/**
 * A private copy of the toy project's sources, for tests that edit code: inside the checkout (so
 * its imports of the engine and of packages resolve) at the same depth as test/fixtures/toy.
 * Returns the folder; its `cli.ts` is the entry. `slurm-toy` copies that project next to the toy
 * one it builds on. Removed when the test process exits.
 */
export function copyToyProject(which: 'toy' | 'slurm-toy' = 'toy'): string {
  const top = join(ROOT, 'dist', `toy-src-${process.pid}-${copies++}`);
  for (const name of new Set(['toy', which])) {
    cpSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), join(top, name), { recursive: true });
  }
  process.on('exit', () => rmSync(top, { recursive: true, force: true }));
  return join(top, which);
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class ToyWorkspace {
  readonly dir: string;
  readonly traceFile: string;

  /** `cli`: another copy of the toy CLI (see copyToyProject), always run through tsx. */
  constructor(
    paramsYaml: string,
    readonly entry: Entry = 'compiled',
    readonly cli: string = CLI,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'rf-toy-'));
    this.traceFile = join(this.dir, 'trace.log');
    this.writeParams(paramsYaml);
  }

  writeParams(yaml: string): void {
    writeFileSync(join(this.dir, 'params.yaml'), yaml);
  }

  /** Starts the CLI without waiting (for kill tests); `env` adds to its environment (e.g. ENGINE_TOY_GATE_SLOW). */
  async spawn(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ChildProcess> {
    const argv = this.entry === 'tsx' || this.cli !== CLI ? ['--import', TSX, this.cli] : [await compiledCli()];
    return spawn(process.execPath, [...argv, '--root', this.dir, ...args], {
      cwd: this.dir,
      env: { ...process.env, ENGINE_TOY_TRACE: this.traceFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  async run(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliResult> {
    const child = await this.spawn(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  }

  /** Lines the toy stages wrote as they ran (an independent witness of executions). */
  trace(): string[] {
    try {
      return readFileSync(this.traceFile, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0);
    } catch {
      return [];
    }
  }

  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(join(this.dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  executions(status?: string): number {
    const rows = status
      ? this.query<{ n: number }>('SELECT COUNT(*) AS n FROM executions WHERE status = ?', status)
      : this.query<{ n: number }>('SELECT COUNT(*) AS n FROM executions');
    return rows[0]!.n;
  }

  /** node id -> output name -> digest, for every registered node. */
  registered(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const r of this.query<{ node_id: string; name: string; digest: string }>(
      'SELECT n.node_id, o.name, o.digest FROM nodes n JOIN outputs o ON o.node_key = n.key',
    )) {
      (out[r.node_id] ??= {})[r.name] = r.digest;
    }
    return out;
  }

  blobPath(digest: string): string {
    return join(this.dir, 'artifacts', 'blobs', digest.slice(0, 2), digest.slice(2));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const baseParams = (values: readonly number[], factor = 2, slow = { steps: 3, ms: 10 }): string => `default_profile: base
profiles:
  base:
    gen: { values: [${values.join(', ')}] }
    scale: { factor: ${factor} }
    slow: { steps: ${slow.steps}, ms: ${slow.ms} }
  tripled:
    extends: base
    scale: { factor: 3 }
`;
