/**
 * No-op `repro` of a ~570-node graph (10 datasets x 7 models x 7 attacks + 1 aggregate), all
 * cached, against Snakemake 7 on the equivalent Snakefile, measured in the same run.
 *
 *   npm run bench:dag [-- --repeats 7]
 *
 * Both workspaces are populated first (ours with the inline executor, since the stages are
 * trivial; Snakemake by running its rules). Then each tool's no-op is timed `repeats` times,
 * alternating, and the median wall time is reported with the ratio to Snakemake's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEntry } from '../engine/bundle.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const flag = process.argv.indexOf('--repeats');
const repeats = flag > 0 ? Number(process.argv[flag + 1]) : 7;
if (!Number.isInteger(repeats) || repeats < 1) throw new Error('--repeats takes a positive integer');
const DATASETS = 10;
const MODELS = 7;
const ATTACKS = 7;
const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

function run(cmd: string, args: readonly string[], cwd: string): { seconds: number; stdout: string; status: number | null } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout, status: r.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ours = mkdtempSync(join(tmpdir(), 'rf-dag-'));
const smk = mkdtempSync(join(tmpdir(), 'rf-smk-'));
try {
  writeFileSync(join(ours, 'params.yaml'), `profiles:
  bench:
    datasets: [${names('d', DATASETS).join(', ')}]
    models: [${names('m', MODELS).join(', ')}]
    attacks: [${names('a', ATTACKS).join(', ')}]
`);
  writeFileSync(join(smk, 'Snakefile'), `DATASETS = ${JSON.stringify(names('d', DATASETS))}
MODELS = ${JSON.stringify(names('m', MODELS))}
ATTACKS = ${JSON.stringify(names('a', ATTACKS))}
wildcard_constraints:
    a="[^-/]+", m="[^-/]+", d="[^-/]+"
rule all:
    input: "out/aggregate/table.txt"
rule aggregate:
    input: expand("out/attack/{a}-{m}-{d}", a=ATTACKS, m=MODELS, d=DATASETS)
    output: "out/aggregate/table.txt"
    run:
        with open(output[0], "w") as f:
            for p in input:
                f.write(open(p).read())
rule attack:
    input: "out/train/{m}-{d}"
    output: "out/attack/{a}-{m}-{d}"
    run:
        open(output[0], "w").write(f"{wildcards.a} vs " + open(input[0]).read())
rule train:
    input: "out/dataset/{d}"
    output: "out/train/{m}-{d}"
    run:
        open(output[0], "w").write(f"{wildcards.m} on " + open(input[0]).read())
rule dataset:
    output: "out/dataset/{d}"
    run:
        open(output[0], "w").write(f"dataset {wildcards.d}\\n")
`);

  await buildEntry(join(root, 'bench/dag/cli.ts'), join(root, 'dist'), 'dag-bench', root);
  const compiled = [join(root, 'dist/dag-bench.mjs'), '--root', ours, 'repro', 'all'];
  const viaTsx = ['--import', 'tsx', join(root, 'bench/dag/cli.ts'), '--root', ours, 'repro', 'all'];

  const populate = run(process.execPath, [...compiled, '--executor', 'inline'], root);
  const nodes = /(\d+) nodes needed/.exec(populate.stdout)?.[1];
  console.log(`robustfeat: populated ${nodes} nodes in ${populate.seconds.toFixed(1)} s (inline executor)`);

  const hasSnakemake = spawnSync('snakemake', ['--version'], { encoding: 'utf8' });
  if (hasSnakemake.status !== 0) {
    console.log('snakemake not found: install it with `apt-get install snakemake` to get the reference figure');
  } else {
    const sp = run('snakemake', ['--cores', '2', '--quiet'], smk);
    console.log(`snakemake ${hasSnakemake.stdout.trim()}: populated in ${sp.seconds.toFixed(1)} s`);
  }

  const times: Record<string, number[]> = { snakemake: [], compiled: [], tsx: [] };
  for (let i = 0; i < repeats; i++) {
    if (hasSnakemake.status === 0) {
      times['snakemake']!.push(run('snakemake', ['--cores', '1'], smk).seconds);
    }
    const c = run(process.execPath, compiled, root);
    if (!/571 cached, 0 ran/.test(c.stdout)) throw new Error(`expected a no-op, got:\n${c.stdout}`);
    times['compiled']!.push(c.seconds);
    const t = run(process.execPath, viaTsx, root);
    if (!/571 cached, 0 ran/.test(t.stdout)) throw new Error(`expected a no-op, got:\n${t.stdout}`);
    times['tsx']!.push(t.seconds);
  }

  const ref = times['snakemake']!.length ? median(times['snakemake']!) : undefined;
  console.log(`\nno-op repro of ${nodes} cached nodes, median of ${repeats} (wall seconds):`);
  const rows: Array<[string, number[]]> = [
    ['snakemake --cores 1', times['snakemake']!],
    ['node dist/pipeline.mjs (compiled CLI)', times['compiled']!],
    ['node --import tsx pipeline.ts', times['tsx']!],
  ];
  for (const [label, xs] of rows) {
    if (xs.length === 0) continue;
    const m = median(xs);
    const ratio = ref !== undefined ? `  ${(ref / m).toFixed(2)}x snakemake's speed` : '';
    console.log(`  ${label.padEnd(40)} ${m.toFixed(3)} s${ratio}`);
  }
} finally {
  rmSync(ours, { recursive: true, force: true });
  rmSync(smk, { recursive: true, force: true });
}
