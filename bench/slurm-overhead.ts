/**
 * Scheduling overhead through Slurm: the graph of bench:dag (datasets x 7 models x 7 attacks + an
 * aggregate; 571 nodes at 10 datasets) of trivial stages, run from scratch four ways in the same
 * run, on the Slurm of this machine (.ci/slurm-up.sh):
 *
 *   - our local executor (a process per node, --jobs = cores),
 *   - our Slurm executor (a batch job per node), its jobs running the compiled Slurm worker,
 *   - the same with the tsx worker (RF_COMPILED_WORKER=0),
 *   - Snakemake 7's `--slurm` on the equivalent Snakefile (a batch job per rule instance),
 *
 * and prints wall seconds per node and the ratios. All Slurm runs get the same --jobs and ask for
 * one CPU per job, so the cluster runs as many of their jobs at once (memory is not the limit).
 *
 *   npm run bench:slurm [-- --datasets 10 --models 7 --attacks 7 --jobs 32]
 *
 * Snakemake 7.21's Slurm executor asks for each job's state one job at a time (`sacct`, then
 * `scontrol show job` where accounting is off, as here and in CI), through a throttle of
 * --max-status-checks-per-second, which it lowers from the default 10 to 0.03 (one job every 33 s)
 * whenever the value is above 1. With 32 jobs in flight a single sweep of the queue then takes
 * ~18 minutes, which is the "stall" a run with the defaults shows. We pass 1, the most it keeps,
 * so the figure is Snakemake at its fastest setting. Its fallback to scontrol needs finished jobs
 * to stay in the controller's memory (MinJobAge=3600 in .ci/slurm-up.sh; the default 300 s loses
 * them and it gives up with "Unable to query job status for 10 times").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { buildCompiledWorker, buildEntry } from '../engine/fast-start/bundle.ts';
import { snakefile } from './dag/snakefile.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} takes a positive integer`);
  return v;
};
const DATASETS = arg('datasets', 10);
const JOBS = arg('jobs', 32);
const MODELS = arg('models', 7);
const ATTACKS = arg('attacks', 7);
const nodes = DATASETS * (1 + MODELS + MODELS * ATTACKS) + 1;
const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

if (spawnSync('sinfo', ['-h'], { encoding: 'utf8' }).status !== 0) {
  console.log('sinfo does not answer: start Slurm first (sudo bash .ci/slurm-up.sh)');
  process.exit(1);
}

function timed(cmd: string, args: readonly string[], cwd: string, extraEnv: Record<string, string> = {}): number {
  const t = process.hrtime.bigint();
  // Snakemake's Slurm executor reads $USER (unset in some CI shells) to guess an account.
  const env = { ...process.env, USER: process.env['USER'] ?? userInfo().username, ...extraEnv };
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 << 20, env });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return seconds;
}

function registered(dir: string): string {
  const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT n.node_id, o.name, o.digest FROM nodes n JOIN outputs o ON o.node_key = n.key ORDER BY 1, 2').all();
    return JSON.stringify(rows);
  } finally {
    db.close();
  }
}

const params = `profiles:
  bench:
    datasets: [${names('d', DATASETS).join(', ')}]
    models: [${names('m', MODELS).join(', ')}]
    attacks: [${names('a', ATTACKS).join(', ')}]
`;
const local = mkdtempSync(join(tmpdir(), 'rf-sl-local-'));
// The Slurm runs' folders must be visible to the jobs: on a real cluster, the shared file system.
const slurm = mkdtempSync(join(tmpdir(), 'rf-sl-slurm-'));
const slurmTsx = mkdtempSync(join(tmpdir(), 'rf-sl-slurm-tsx-'));
const smk = mkdtempSync(join(tmpdir(), 'rf-sl-smk-'));
try {
  for (const d of [local, slurm, slurmTsx]) writeFileSync(join(d, 'params.yaml'), params);
  writeFileSync(join(smk, 'Snakefile'), snakefile(names('d', DATASETS), names('m', MODELS), names('a', ATTACKS)));
  await buildEntry(join(root, 'bench/dag/cli.ts'), join(root, 'dist'), 'dag-bench', root);
  // The jobs run the compiled Slurm worker (as after npm run build); a second run, the tsx one.
  await buildCompiledWorker(pathToFileURL(join(root, 'bench/dag/project.ts')).href, root, 'slurm');
  const cli = (dir: string) => [join(root, 'dist/dag-bench.mjs'), '--root', dir, 'repro', 'all'];
  const cores = Number(spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim()) || 2;

  console.log(`${nodes} nodes (${DATASETS} datasets x ${MODELS} models x ${ATTACKS} attacks + aggregate), --jobs ${JOBS} for the Slurm runs`);
  const t: Record<string, number> = {};
  t['local'] = timed(process.execPath, [...cli(local), '--jobs', String(cores)], root);
  console.log(`  robustfeat, local executor (--jobs ${cores}):  ${t['local']!.toFixed(1)} s`);
  t['slurm'] = timed(process.execPath, [...cli(slurm), '--executor', 'slurm', '--jobs', String(JOBS)], root);
  console.log(`  robustfeat, Slurm executor:              ${t['slurm']!.toFixed(1)} s (compiled worker)`);
  if (registered(local) !== registered(slurm)) throw new Error('the Slurm run registered other digests than the local run');
  t['slurmTsx'] = timed(process.execPath, [...cli(slurmTsx), '--executor', 'slurm', '--jobs', String(JOBS)], root, { RF_COMPILED_WORKER: '0' });
  console.log(`  robustfeat, Slurm executor, tsx worker:  ${t['slurmTsx']!.toFixed(1)} s`);
  if (registered(local) !== registered(slurmTsx)) throw new Error('the Slurm run with the tsx worker registered other digests than the local run');

  const version = spawnSync('snakemake', ['--version'], { encoding: 'utf8' });
  if (version.status === 0) {
    t['snakemake'] = timed(
      'snakemake',
      ['--slurm', '--jobs', String(JOBS), '--max-status-checks-per-second', '1', '--default-resources', 'mem_mb=400', 'runtime=10', '--quiet'],
      smk,
    );
    // The same work done: one table line per attack node.
    const rows = readFileSync(join(smk, 'out/aggregate/table.txt'), 'utf8').trim().split('\n').length;
    if (rows !== DATASETS * MODELS * ATTACKS) throw new Error(`snakemake's table has ${rows} rows, not ${DATASETS * MODELS * ATTACKS}`);
    console.log(`  snakemake ${version.stdout.trim()} --slurm:            ${t['snakemake']!.toFixed(1)} s`);
  } else {
    console.log('  snakemake not found (apt-get install snakemake): no reference figure');
  }

  console.log('\nwall seconds per node (lower is better):');
  for (const [label, key] of [
    ['local executor', 'local'],
    ['Slurm executor', 'slurm'],
    ['  with tsx workers', 'slurmTsx'],
    ['snakemake --slurm', 'snakemake'],
  ] as const) {
    if (t[key] !== undefined) console.log(`  ${label.padEnd(20)} ${(t[key]! / nodes).toFixed(3)} s`);
  }
  console.log(`\nSlurm executor / local executor: ${(t['slurm']! / t['local']!).toFixed(2)}x the wall time`);
  console.log(`compiled Slurm worker / tsx Slurm worker: ${(t['slurm']! / t['slurmTsx']!).toFixed(2)}x the wall time`);
  if (t['snakemake'] !== undefined) {
    console.log(`snakemake --slurm / Slurm executor: ${(t['snakemake'] / t['slurm']!).toFixed(2)}x (above 1: ours is faster)`);
    console.log(`snakemake --slurm / local executor: ${(t['snakemake'] / t['local']!).toFixed(2)}x the wall time`);
  }
} finally {
  for (const d of [local, slurm, slurmTsx, smk]) rmSync(d, { recursive: true, force: true });
}
