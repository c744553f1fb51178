/**
 * No-op `repro` of generated graphs shaped like the experiments (datasets x models x attacks + one
 * aggregate), all cached, at about 100, 571 (the reference graph), 1,000 and 10,000 nodes, against
 * Snakemake 7 on the equivalent Snakefile, measured in the same run.
 *
 *   npm run bench:dag [-- --repeats 5] [--sizes 100,571,1000,10000] [--tsx]
 *
 * Our workspace is populated with the inline executor (the stages are trivial). Snakemake's is
 * populated by writing the same files in dependency order (running 10,000 Snakemake jobs would
 * take hours here), after which Snakemake itself reports "Nothing to be done". Then each tool's
 * no-op is timed `repeats` times, alternating, and the median wall time is reported with the
 * ratio to Snakemake's. `--tsx` adds the CLI run from the sources through tsx. In the same run it
 * also times `node -e 0` (the floor any node CLI pays on this machine) and, on the 571-node graph,
 * the compiled CLI without its V8 code cache (`RF_CODE_CACHE=0`), and says whether the goals of
 * issue 17 are met: a 571-node no-op in at most 0.2 s, a 10,000-node one in at most 2 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEntry } from '../engine/fast-start/bundle.ts';
import { snakefile } from './dag/snakefile.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const repeats = Number(arg('repeats') ?? 5);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error('--repeats takes a positive integer');
const withTsx = process.argv.includes('--tsx');

/** Datasets, models, attacks per size: D + D*M + D*M*A + 1 nodes. */
const SHAPES: Record<string, readonly [number, number, number]> = {
  '100': [3, 4, 7],
  '571': [10, 7, 7],
  '1000': [10, 9, 10],
  '10000': [20, 20, 24],
};
const sizes = (arg('sizes') ?? Object.keys(SHAPES).join(',')).split(',');
for (const s of sizes) if (SHAPES[s] === undefined) throw new Error(`--sizes: unknown '${s}'; known: ${Object.keys(SHAPES).join(', ')}`);

const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function run(cmd: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): { seconds: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 << 20, ...(env ? { env } : {}) });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout + r.stderr };
}

/** The files Snakemake's rules would write, in dependency order (so mtimes ascend). */
function populateSnakemake(dir: string, d: readonly string[], m: readonly string[], a: readonly string[]): void {
  for (const sub of ['dataset', 'train', 'attack', 'aggregate']) mkdirSync(join(dir, 'out', sub), { recursive: true });
  const rows: string[] = [];
  for (const dd of d) writeFileSync(join(dir, 'out/dataset', dd), `dataset ${dd}\n`);
  for (const dd of d) for (const mm of m) writeFileSync(join(dir, 'out/train', `${mm}-${dd}`), `${mm} on dataset ${dd}\n`);
  for (const aa of a)
    for (const mm of m)
      for (const dd of d) {
        const text = `${aa} vs ${mm} on dataset ${dd}\n`;
        writeFileSync(join(dir, 'out/attack', `${aa}-${mm}-${dd}`), text);
        rows.push(text);
      }
  writeFileSync(join(dir, 'out/aggregate/table.txt'), rows.join(''));
}

const snakemakeVersion = (() => {
  const r = spawnSync('snakemake', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();
if (snakemakeVersion === undefined) console.log('snakemake not found: install it (`apt-get install snakemake`) to get the reference figures');

await buildEntry(join(root, 'bench/dag/cli.ts'), join(root, 'dist'), 'dag-bench', root);
const compiled = join(root, 'dist/dag-bench.mjs');

/** Goals of issue 17 for the compiled CLI, in seconds, by graph size. */
const GOALS: Record<number, number> = { 571: 0.2, 10021: 2 };

const floor = median(Array.from({ length: Math.max(repeats, 5) }, () => run(process.execPath, ['-e', '0'], root).seconds));

interface Row {
  readonly nodes: number;
  readonly populate: number;
  readonly ours: number;
  /** The compiled CLI with RF_CODE_CACHE=0 (measured on the 571-node graph only). */
  readonly noCache?: number;
  /** The compiled CLI with NODE_EXTRA_CA_CERTS unset, when the environment sets it (571 nodes only). */
  readonly noCerts?: number;
  readonly tsx?: number;
  readonly snakemake?: number;
}
const rows: Row[] = [];
for (const size of sizes) {
  const [nd, nm, na] = SHAPES[size]!;
  const [d, m, a] = [names('d', nd), names('m', nm), names('a', na)];
  const nodes = nd + nd * nm + nd * nm * na + 1;
  const ours = mkdtempSync(join(tmpdir(), 'rf-dag-'));
  const smk = mkdtempSync(join(tmpdir(), 'rf-smk-'));
  try {
    writeFileSync(
      join(ours, 'params.yaml'),
      `profiles:\n  bench:\n    datasets: [${d.join(', ')}]\n    models: [${m.join(', ')}]\n    attacks: [${a.join(', ')}]\n`,
    );
    const cli = (extra: readonly string[] = []) => [compiled, '--root', ours, 'repro', 'all', ...extra];
    const populate = run(process.execPath, cli(['--executor', 'inline']), root);
    if (!new RegExp(`0 cached, ${nodes} ran`).test(populate.stdout)) throw new Error(`populating ${nodes} nodes:\n${populate.stdout.slice(-2000)}`);
    if (snakemakeVersion !== undefined) {
      writeFileSync(join(smk, 'Snakefile'), snakefile(d, m, a));
      populateSnakemake(smk, d, m, a);
      const check = run('snakemake', ['--cores', '1', '-n'], smk);
      if (!/Nothing to be done/.test(check.stdout)) throw new Error(`snakemake would run jobs on its populated tree:\n${check.stdout.slice(-2000)}`);
    }
    const times: { ours: number[]; noCache: number[]; noCerts: number[]; tsx: number[]; snakemake: number[] } = {
      ours: [],
      noCache: [],
      noCerts: [],
      tsx: [],
      snakemake: [],
    };
    const noop = new RegExp(`${nodes} cached, 0 ran`);
    // The populating run wrote the code cache; this one finds it (as every later start will).
    run(process.execPath, cli(), root);
    for (let i = 0; i < repeats; i++) {
      if (snakemakeVersion !== undefined) times.snakemake.push(run('snakemake', ['--cores', '1'], smk).seconds);
      const c = run(process.execPath, cli(), root);
      if (!noop.test(c.stdout)) throw new Error(`expected a no-op, got:\n${c.stdout.slice(-2000)}`);
      times.ours.push(c.seconds);
      if (size === '571') {
        times.noCache.push(run(process.execPath, cli(), root, { ...process.env, RF_CODE_CACHE: '0' }).seconds);
        if (process.env.NODE_EXTRA_CA_CERTS) times.noCerts.push(run(process.execPath, cli(), root, { ...process.env, NODE_EXTRA_CA_CERTS: '' }).seconds);
      }
      if (withTsx) {
        const t = run(process.execPath, ['--import', 'tsx', join(root, 'bench/dag/cli.ts'), '--root', ours, 'repro', 'all'], root);
        if (!noop.test(t.stdout)) throw new Error(`expected a no-op, got:\n${t.stdout.slice(-2000)}`);
        times.tsx.push(t.seconds);
      }
    }
    const row: Row = {
      nodes,
      populate: populate.seconds,
      ours: median(times.ours),
      ...(times.noCache.length > 0 ? { noCache: median(times.noCache) } : {}),
      ...(times.noCerts.length > 0 ? { noCerts: median(times.noCerts) } : {}),
      ...(withTsx ? { tsx: median(times.tsx) } : {}),
      ...(snakemakeVersion !== undefined ? { snakemake: median(times.snakemake) } : {}),
    };
    rows.push(row);
    console.log(
      `${nodes} nodes: ours ${row.ours.toFixed(3)} s${row.snakemake !== undefined ? `, snakemake ${row.snakemake.toFixed(3)} s` : ''} (populated in ${populate.seconds.toFixed(1)} s)`,
    );
  } finally {
    rmSync(ours, { recursive: true, force: true });
    rmSync(smk, { recursive: true, force: true });
  }
}

console.log(`\nno-op repro, all nodes cached, median of ${repeats} (wall seconds); snakemake ${snakemakeVersion ?? 'not installed'} --cores 1`);
console.log(`| nodes | node dist/…mjs (compiled CLI) | ms per node |${withTsx ? ' tsx |' : ''} snakemake | ours / snakemake time |`);
console.log(`|---|---|---|${withTsx ? '---|' : ''}---|---|`);
for (const r of rows) {
  const smk = r.snakemake !== undefined ? `${r.snakemake.toFixed(3)} | ${(r.ours / r.snakemake).toFixed(2)}` : '– | –';
  console.log(`| ${r.nodes} | ${r.ours.toFixed(3)} | ${((1000 * r.ours) / r.nodes).toFixed(3)} |${withTsx ? ` ${r.tsx!.toFixed(3)} |` : ''} ${smk} |`);
}
if (rows.length >= 2) {
  const [first, last] = [rows[0]!, rows.at(-1)!];
  console.log(
    `growth: ${(((last.ours - first.ours) / (last.nodes - first.nodes)) * 1000).toFixed(3)} ms per extra node (ours)${first.snakemake !== undefined ? `, ${(((last.snakemake! - first.snakemake!) / (last.nodes - first.nodes)) * 1000).toFixed(3)} ms (snakemake)` : ''}`,
  );
}
console.log(
  `floor: \`node -e 0\` takes ${floor.toFixed(3)} s here${process.env.NODE_EXTRA_CA_CERTS ? ' (NODE_EXTRA_CA_CERTS is set: node parses those certificates at every start, before any script runs; unset it to see the difference)' : ''}`,
);
for (const r of rows) {
  if (r.noCache !== undefined) {
    console.log(
      `code cache: ${r.nodes} nodes ${r.ours.toFixed(3)} s with it, ${r.noCache.toFixed(3)} s without (RF_CODE_CACHE=0): ${(r.ours / r.noCache).toFixed(2)}x`,
    );
  }
}
for (const r of rows) {
  if (r.noCerts !== undefined) {
    console.log(
      `without NODE_EXTRA_CA_CERTS: ${r.nodes} nodes ${r.noCerts.toFixed(3)} s (the environment's certificates cost every node start, not the pipeline)`,
    );
  }
}
for (const r of rows) {
  const goal = GOALS[r.nodes];
  if (goal !== undefined)
    console.log(`goal (issue 17): ${r.nodes}-node no-op at most ${goal} s: ${r.ours <= goal ? 'met' : 'NOT met'} (${r.ours.toFixed(3)} s)`);
}
