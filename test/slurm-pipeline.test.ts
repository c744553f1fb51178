import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { slurmSkipReason } from './helpers/slurm.ts';
import { MINI_PROFILE } from './helpers/mini-profile.ts';

/**
 * The real pipeline's stages in Slurm jobs: the D_R chain of a miniature profile (synthetic data,
 * f_A training, D_R construction) through `pipeline.ts repro dr --executor slurm` gives the same
 * artifacts as the local executor. Training histories record images per second, a timing, so
 * they are compared without it.
 */

const skip = slurmSkipReason();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
// The miniature of experiments-e2e.test.ts, with Slurm resources small enough for one node.
const MINI = {
  ...MINI_PROFILE,
  slurm: { cpus: 1, mem: '1500M', minTime: '10', stages: { train: { cpus: 1, mem: '1500M' }, 'build-dr': { cpus: 1, mem: '1500M' } } },
};

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rf-slurm-pipe-'));
  dirs.push(dir);
  const params = parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8')) as { profiles: Record<string, unknown> };
  params.profiles['mini'] = MINI;
  writeFileSync(join(dir, 'params.yaml'), stringify(params));
  return dir;
}

function repro(dir: string, extra: readonly string[]) {
  const r = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, 'repro', 'dr', '--profile', 'mini', ...extra], {
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** node:output -> digest of every registered output (training histories too: they hold no timings). */
function artifacts(dir: string): Record<string, string> {
  const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT n.node_id, o.name, o.digest FROM nodes n JOIN outputs o ON o.node_key = n.key').all() as Array<{
      node_id: string;
      name: string;
      digest: string;
    }>;
    return Object.fromEntries(rows.map((r) => [`${r.node_id}:${r.name}`, r.digest]));
  } finally {
    db.close();
  }
}

describe('the pipeline on Slurm', { skip, timeout: 600_000 }, () => {
  test("repro dr of a miniature profile: the Slurm executor reproduces the local executor's artifacts", () => {
    const local = workspace();
    const l = repro(local, []);
    assert.equal(l.code, 0, l.out.slice(-3000));
    const slurm = workspace();
    const s = repro(slurm, ['--executor', 'slurm']);
    assert.equal(s.code, 0, s.out.slice(-3000));
    assert.match(s.out, /\[train@fa\] backend: /);
    const a = artifacts(local);
    // The D_R chain and its ground-truth quality report.
    const nodes = [...new Set(Object.keys(a).map((k) => k.split(':')[0]!))].sort();
    assert.deepEqual(nodes, ['build-dr', 'dataset-quality@dr', 'synthetic-dataset', 'train@fa']);
    assert.deepEqual(artifacts(slurm), a);
    const again = repro(slurm, ['--executor', 'slurm']);
    assert.match(again.out, new RegExp(`${nodes.length} cached, 0 ran`));
  });
});
