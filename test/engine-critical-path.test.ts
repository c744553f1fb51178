import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { pathLengths, PrioritySemaphore } from '../engine/plan/critical-path.ts';
import { ToyWorkspace } from './helpers/toy-workspace.ts';

/** Longest-path-first scheduling: the path lengths, the priority semaphore, and repro's order. */

test('pathLengths: own seconds plus the longest chain after; deps outside the map are done; deep chains do not overflow', () => {
  const work = new Map([
    ['a', { seconds: 1, deps: ['outside'] }],
    ['b', { seconds: 10, deps: ['a'] }],
    ['c', { seconds: 2, deps: ['a'] }],
    ['d', { seconds: 5, deps: ['b', 'c', 'b'] }],
    ['e', { seconds: 1, deps: [] }],
  ]);
  assert.deepEqual(Object.fromEntries(pathLengths(work)), { a: 16, b: 15, c: 7, d: 5, e: 1 });
  const chain = new Map(Array.from({ length: 200_000 }, (_, i) => [`n${i}`, { seconds: 1, deps: i === 0 ? [] : [`n${i - 1}`] }]));
  assert.equal(pathLengths(chain).get('n0'), 200_000);
});

test('PrioritySemaphore serves the highest priority first, first come first served among equals', async () => {
  const sem = new PrioritySemaphore(1);
  const release = await sem.acquire(0);
  const order: string[] = [];
  const waiters = (
    [
      ['low', 1],
      ['high-1', 5],
      ['mid', 3],
      ['high-2', 5],
    ] as const
  ).map(([name, p]) =>
    sem.acquire(p).then((r) => {
      order.push(name);
      r();
    }),
  );
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all(waiters);
  assert.deepEqual(order, ['high-1', 'high-2', 'mid', 'low']);
  // A double release frees one slot only.
  const r1 = await sem.acquire();
  r1();
  r1();
  const r2 = await sem.acquire();
  let third = false;
  void sem.acquire().then(() => (third = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, 'one slot, held: the next acquire waits');
  r2();
});

test('PrioritySemaphore locality: a freed slot goes to a waiter reading what the releaser touched, unless that would delay the most urgent chain', async () => {
  const served = async (
    queue: ReadonlyArray<readonly [string, number, number, readonly string[]]>,
    touched: readonly string[],
    slots = 2,
    running: readonly string[] = [],
  ) => {
    const sem = new PrioritySemaphore(slots);
    const held = await Promise.all(Array.from({ length: slots }, (_, i) => sem.acquire({ priority: 0, reads: i === 0 ? [] : running })));
    const order: string[] = [];
    const waiting = queue.map(([name, priority, seconds, reads]) =>
      sem.acquire({ priority, seconds, reads }).then((release) => {
        order.push(name);
        release();
      }),
    );
    await new Promise((r) => setImmediate(r));
    held[0]!(touched);
    held.slice(1).forEach((r) => r());
    await Promise.all(waiting);
    return order[0];
  };
  // Evaluations of models A and B reading the test set T; the releaser evaluated model A.
  const evals = [
    ['B-grid775', 30, 30, ['B', 'T']],
    ['A-grid135', 5, 5, ['A', 'T']],
    ['A-rot30', 1, 1, ['A', 'T']],
    ['B-grid135', 5, 5, ['B', 'T']],
    ['C-grid775', 30, 30, ['C', 'T']],
    ['D-grid775', 30, 30, ['D', 'T']],
  ] as const;
  // 101 s queued on 2 slots: B's 30 s chain plus a 5 s detour ends well within it.
  assert.equal(await served(evals, ['A', 'T', 'result-A']), 'A-grid135', 'the most shared digests (A and T), then the highest priority');
  assert.equal(await served(evals, []), 'B-grid775', 'nothing touched: priority order');
  assert.equal(await served(evals, ['X']), 'B-grid775', 'no waiter reads what was touched');
  // A training with evaluations after it is never overtaken, however much work is queued.
  const train = ['train-E', 60, 35, ['D']] as const;
  assert.equal(await served([train, ...evals], ['A', 'T']), 'train-E', 'a node other work waits for');
  const withTable = evals.map(([name, priority, seconds, reads]) => [name, priority + 2, seconds, reads] as const);
  assert.equal(await served(withTable, ['A', 'T']), 'A-grid135', 'a 2 s table after every evaluation keeps them leaves');
  assert.equal(await served([['B-grid775', 30, 30, ['B', 'T']], evals[1]], ['A', 'T']), 'A-grid135', 'B has nothing after it: either order ends at 35 s');
  // One slot: 101 s queued, the detour fits.
  assert.equal(await served(evals, ['A'], 1), 'A-grid135');
  // The other slot runs an evaluation of B: B's next one waits for that worker, C's goes here.
  assert.equal(await served(evals, ['X'], 2, ['B', 'T']), 'C-grid775', 'not beside a node reading the same model');
  assert.equal(await served(evals, ['X'], 2, ['T']), 'B-grid775', 'an artifact every waiter reads decides nothing');
});

const spaces: ToyWorkspace[] = [];
after(() => spaces.forEach((w) => w.dispose()));

test('with one worker, the node with the longest estimated chain after it runs first, not the first ready', async () => {
  const w = new ToyWorkspace(
    'default_profile: base\nprofiles:\n  base:\n    shorts: 4\n',
    'tsx',
    fileURLToPath(new URL('./fixtures/sched/cli.ts', import.meta.url)),
  );
  spaces.push(w);
  const r = await w.run(['repro', 'all', '--jobs', '1', '--executor', 'inline']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const order = w.query<{ node_id: string }>('SELECT node_id FROM executions ORDER BY id').map((e) => e.node_id);
  // First come, first served ran short0..short3 (listed, so queued, first), then the chain. Now
  // the chain goes as soon as the slot frees (the first node to arrive took the free slot), and
  // each link, arriving while the shorts wait, goes before them.
  const at = order.indexOf('root');
  assert.ok(at <= 1, `root ran ${at + 1}th: ${order.join(' ')}`);
  assert.deepEqual(order.slice(at, at + 3), ['root', 'head', 'tail'], order.join(' '));
  assert.equal(order.length, 7);
});
