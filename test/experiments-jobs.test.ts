// How many nodes run at once by default, and the kernel threads each gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { project } from '../experiments/project.ts';
import { profileSchema } from '../experiments/profile.ts';
import { readParamsFile, resolveProfile } from '../engine/plan/params.ts';

test('the profile sets the default job count; demo runs two nodes at once, paper one', () => {
  const file = readParamsFile(new URL('../params.yaml', import.meta.url).pathname);
  const jobs = (name: string) => project.defaultJobs!(resolveProfile(file, name, profileSchema, []).params);
  assert.equal(jobs('demo'), 2);
  assert.equal(jobs('paper'), 1);
});

test('parallel workers split the cores between them unless a thread count is set', () => {
  const saved = { rf: process.env.RF_THREADS, omp: process.env.OMP_NUM_THREADS };
  delete process.env.RF_THREADS;
  delete process.env.OMP_NUM_THREADS;
  try {
    assert.deepEqual(project.workerEnv!(1), {});
    assert.deepEqual(project.workerEnv!(2), { RF_THREADS: String(Math.max(1, Math.floor(availableParallelism() / 2))) });
    assert.deepEqual(project.workerEnv!(availableParallelism() * 4), { RF_THREADS: '1' });
    process.env.OMP_NUM_THREADS = '3';
    assert.deepEqual(project.workerEnv!(2), {});
  } finally {
    for (const [k, v] of [
      ['RF_THREADS', saved.rf],
      ['OMP_NUM_THREADS', saved.omp],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
