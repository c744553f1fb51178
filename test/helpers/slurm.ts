import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestOf } from '../../engine/core/canonical-json.ts';
import { serviceSkip } from './services.ts';
import { ToyWorkspace } from './toy-workspace.ts';

/**
 * Tests that need a real Slurm (`.ci/slurm-up.sh` starts a single-node one) ask `slurmSkipReason()`
 * first: it is undefined when `sinfo` lists a node that accepts jobs, and otherwise says why, so
 * the test is skipped with that reason printed (or, where the run requires Slurm, fails: services.ts).
 */
export function slurmSkipReason(): string | undefined {
  const r = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 15_000 });
  let reason: string | undefined;
  if (r.error) reason = `sinfo unavailable (${r.error.message}); run .ci/slurm-up.sh as root to start a single-node Slurm`;
  else if (r.status !== 0) reason = `sinfo failed: ${(r.stderr || r.stdout).trim()}; run .ci/slurm-up.sh`;
  else if (!/^(idle|mix|alloc|comp)/m.test(r.stdout)) reason = `no Slurm node accepts jobs (sinfo: ${r.stdout.trim() || 'none'})`;
  return serviceSkip('slurm', reason) || undefined;
}

const CLI = fileURLToPath(new URL('../fixtures/slurm-toy/cli.ts', import.meta.url));

/** A throwaway folder for the toy pipeline with cluster keys (test/fixtures/slurm-toy), run through its CLI. */
export class SlurmToyWorkspace extends ToyWorkspace {
  /** `cli`: a copy of the project's CLI (copyToyProject('slurm-toy')), for tests that edit its code. */
  constructor(paramsYaml: string, cli: string = CLI) {
    super(paramsYaml, 'tsx', cli);
  }

  /** Every job the controller knows for this workspace (by its job-name tag), grouped by node id (`--comment`). */
  jobsByNode(): Map<string, Array<{ id: string; state: string }>> {
    const tag = `slurm-toy-${digestOf(resolve(join(this.dir, 'artifacts'))).slice(0, 6)}-r`;
    const r = spawnSync('squeue', ['-h', '--states=all', '-o', '%i|%j|%k|%T'], { encoding: 'utf8' });
    const out = new Map<string, Array<{ id: string; state: string }>>();
    for (const line of r.stdout.split('\n')) {
      const [id, name, comment, state] = line.trim().split('|');
      if (!id || !name?.startsWith(tag) || comment === undefined || state === undefined) continue;
      out.set(comment, [...(out.get(comment) ?? []), { id, state }]);
    }
    return out;
  }
}

export const slurmParams = (extra = '', slurm = "{ mem: 400M, minTime: '5' }", values = [1, 2, 3]): string => `default_profile: base
profiles:
  base:
    gen: { values: [${values.join(', ')}] }
    scale: { factor: 2 }
    slow: { steps: 3, ms: 10 }
    executor: slurm
    slurm: ${slurm}
${extra}`;
