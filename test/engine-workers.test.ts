import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalExecutor } from '../engine/exec/local.ts';
import { codeRoot, sourceClosure } from '../engine/core/source-digest.ts';
import type { ExecOutcome, NodeTask, WorkerMessage } from '../engine/run/worker-protocol.ts';

/**
 * Persistent workers: one worker runs node after node, and a node's result never depends on what
 * its worker ran before. A node that leaks (a tensor, a variable, a global, an environment
 * variable, the working folder) or crashes takes only its worker down; a worker whose code changed
 * on disk refuses the node, which then runs in a fresh worker.
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/workers/', import.meta.url));
const PROJECT = pathToFileURL(join(FIXTURE, 'project.ts')).href;
const dir = mkdtempSync(join(tmpdir(), 'rf-workers-'));
const executors: LocalExecutor[] = [];
after(() => {
  executors.forEach((e) => e.close());
  rmSync(dir, { recursive: true, force: true });
});

function executor(isolate: boolean, projectModule = PROJECT): LocalExecutor {
  const e = new LocalExecutor({ projectModule, isolate });
  executors.push(e);
  return e;
}

let counter = 0;
interface Ran {
  readonly outcome: ExecOutcome;
  readonly pid: number;
  readonly out: string;
  readonly log: string;
  readonly messages: WorkerMessage[];
}

async function runNode(e: LocalExecutor, stage: 'leak' | 'probe', params: unknown, projectModule = PROJECT): Promise<Ran> {
  const n = counter++;
  const out = join(dir, `out-${n}`);
  const logFile = join(dir, `log-${n}.log`);
  // The fixture's stages live in its project module; the code as a driver planning now would see it.
  const codeDigest = sourceClosure(projectModule, codeRoot(projectModule)).digest;
  const task: NodeTask = {
    projectModule,
    stage,
    nodeId: `${stage}@${n}`,
    nodeKey: `key${n}`,
    codeDigest,
    params,
    inputs: {},
    outputs: { out },
    scratchDir: join(dir, `scratch-${n}`),
  };
  const messages: WorkerMessage[] = [];
  const outcome = await e.execute(task, (m) => messages.push(m), logFile).outcome;
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  const pid = outcome.ok ? (outcome.metrics?.['pid'] as number) : -1;
  return { outcome, pid, out: read(out), log: read(logFile), messages };
}

const ok = (r: Ran) => assert.ok(r.outcome.ok, r.outcome.ok ? '' : r.outcome.error);

// What a probe writes in a process of its own.
let reference: string;
test('--isolate: every node in a fresh process', async () => {
  const e = executor(true);
  const a = await runNode(e, 'probe', { seed: 5 });
  const b = await runNode(e, 'probe', { seed: 5 });
  e.close();
  [a, b].forEach(ok);
  assert.notEqual(a.pid, b.pid);
  reference = a.out;
  assert.match(reference, /"tensors":0,"variables":0,"global":null,"env":null/);
  assert.equal(b.out, reference);
});

// One executor for the rest, as one repro has: every replacement worker is a boot saved here.
let shared: LocalExecutor;
let last: Ran;
test('one worker runs node after node, each with its own log', async () => {
  shared = executor(false);
  const a = await runNode(shared, 'probe', { seed: 5 });
  const b = await runNode(shared, 'probe', { seed: 5 });
  const c = await runNode(shared, 'leak', { what: 'none' });
  [a, b, c].forEach(ok);
  assert.equal(a.pid, b.pid, 'the second node ran in the same worker');
  assert.equal(b.pid, c.pid, 'a node that leaves nothing behind keeps its worker');
  assert.equal(a.out, reference);
  assert.equal(b.out, reference);
  // Each log holds its own node's output, once, and no marker.
  assert.equal(a.log.match(/probe in/g)?.length, 1, a.log);
  assert.equal(a.log.match(/probe stderr in/g)?.length, 1, a.log);
  assert.equal(b.log.match(/probe in/g)?.length, 1, b.log);
  assert.ok(!(a.log + b.log + c.log).includes(String.fromCharCode(0)), 'no end-of-node marker in a log');
  assert.match(c.log, /leak none/);
  assert.doesNotMatch(c.log, /probe/);
  last = c;
});

for (const what of ['tensor', 'variable', 'global', 'env', 'cwd'] as const) {
  test(`a node after one that leaked a ${what} computes what it computes in a fresh process`, async () => {
    const l = await runNode(shared, 'leak', { what });
    ok(l);
    assert.equal(l.pid, last.pid, 'the leak ran in a reused worker');
    assert.ok(
      l.messages.some((m) => m.type === 'log' && /worker retired after this node/.test(m.message)),
      `the leak was reported: ${JSON.stringify(l.messages)}`,
    );
    const p = await runNode(shared, 'probe', { seed: 5 });
    ok(p);
    assert.notEqual(p.pid, l.pid, 'the leaking worker was replaced');
    assert.equal(p.out, reference);
    last = p;
  });
}

// Output written just before a node ends (or its process exits) reaches its log before the
// outcome is reported: a driver that exits, or a user who reads the log, sees all of it.
const CHATTER = 20000;
const lastChatter = new RegExp(`chatter ${CHATTER - 1} `);
test('a node log holds everything the node wrote, as soon as its outcome is known', async () => {
  const p = await runNode(shared, 'probe', { seed: 5, chatter: CHATTER });
  ok(p);
  assert.equal(p.log.match(/^chatter /gm)?.length, CHATTER, `the log has ${p.log.length} bytes`);
  assert.match(p.log, lastChatter);
  // What a worker wrote before it exited must reach the log too (the driver waits for its pipes to
  // close). Kept small: a process.exit() itself drops output Node had not yet handed to the pipe,
  // which under load was seen to happen to a few tens of KiB.
  const x = await runNode(shared, 'leak', { what: 'exit', chatter: 20 });
  assert.equal(x.outcome.ok, false);
  assert.equal(x.log.match(/^chatter /gm)?.length, 20, `the exited node's log has ${x.log.length} bytes`);
  last = await runNode(shared, 'probe', { seed: 5 });
  ok(last);
});

for (const what of ['exit', 'throw'] as const) {
  test(`a node that fails by ${what} takes only its worker down`, async () => {
    const l = await runNode(shared, 'leak', { what });
    assert.equal(l.outcome.ok, false);
    if (!l.outcome.ok) assert.match(l.outcome.error, what === 'exit' ? /exited with code 3/ : /asked to throw/);
    const p = await runNode(shared, 'probe', { seed: 5 });
    ok(p);
    assert.notEqual(p.pid, last.pid, "the failed node's worker is not reused");
    assert.equal(p.out, reference);
    last = p;
  });
}

test('a worker whose code changed on disk refuses the node; a fresh worker runs it with the new code', async () => {
  // A copy of the fixture inside the checkout (so its imports resolve), edited between nodes.
  const copy = join(FIXTURE, '..', `workers-tmp-${process.pid}`);
  mkdirSync(copy, { recursive: true });
  after(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(FIXTURE, copy, { recursive: true });
  const url = pathToFileURL(join(copy, 'project.ts')).href;
  const e = executor(false, url);
  const a = await runNode(e, 'probe', { seed: 5 }, url);
  ok(a);
  assert.match(a.out, /"helper":"original"/);
  writeFileSync(join(copy, 'helper.ts'), "export const helperValue = 'edited';\n");
  const b = await runNode(e, 'probe', { seed: 5 }, url);
  ok(b);
  assert.match(b.out, /"helper":"edited"/, 'the node ran on the code now on disk');
  assert.notEqual(b.pid, a.pid);
  assert.ok(
    b.messages.some((m) => m.type === 'log' && /restarting the worker: .*helper\.ts changed/.test(m.message)),
    JSON.stringify(b.messages),
  );
});
