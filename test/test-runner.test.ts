import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runSuite, tapSummary } from './runner/suite.mjs';
import { waitFor } from './helpers/wait-for.ts';

/**
 * The suite's own runner (test/runner/suite.mjs): files start in the order given, not by name
 * (Node 20's `node --test` sorts them, which undid the longest-first schedule), a lane takes the
 * next file when it is free, and a failing or crashing file fails the suite.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rf-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = join(dir, 'log');

/** A test file that logs its start and end (with times) and sleeps `ms` in between. */
function fixture(name: string, ms: number, body = 'assert.ok(true)'): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { appendFileSync } from 'node:fs';",
      `appendFileSync(${JSON.stringify(log)}, 'start ${name} ' + Date.now() + '\\n');`,
      `test('${name}', async () => { await new Promise((r) => setTimeout(r, ${ms})); ${body}; });`,
      `process.on('exit', () => appendFileSync(${JSON.stringify(log)}, 'end ${name} ' + Date.now() + '\\n'));`,
    ].join('\n'),
  );
  return path;
}
const events = () =>
  readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [what, name, at] = l.split(' ');
      return { what: what!, name: name!, at: Number(at) };
    });

test('one lane runs the files in the order given, not sorted by name', async () => {
  writeFileSync(log, '');
  const files = [fixture('c.test.ts', 10), fixture('a.test.ts', 10), fixture('b.test.ts', 10)];
  const out: string[] = [];
  const r = await runSuite({ cwd: ROOT, files, lanes: 1, write: (t) => out.push(t) });
  assert.deepEqual(
    events()
      .filter((e) => e.what === 'start')
      .map((e) => e.name),
    ['c.test.ts', 'a.test.ts', 'b.test.ts'],
  );
  assert.deepEqual(r.failed, []);
  assert.equal(r.totals.pass, 3);
  assert.deepEqual(
    r.results.map((x) => x.file),
    files,
  );
  assert.match(out.join(''), /━━ .*c\.test\.ts \([\d.]+ s, 1 pass, 0 fail, 0 skip\) ━━\n[\s\S]*# pass 1/);
});

test('two lanes: the long first file runs beside the others, which take the free lane in turn', async () => {
  writeFileSync(log, '');
  // The long file ends only once s2 has ended (or gives up after a minute and fails): with two
  // lanes, s1 and then s2 must run beside it.
  const s2Ended = `(await import('node:fs')).readFileSync(${JSON.stringify(log)}, 'utf8').includes('end s2.test.ts')`;
  const waitForS2 = `for (let i = 0; i < 600 && !${s2Ended}; i++) await new Promise((r) => setTimeout(r, 100)); assert.ok(${s2Ended}, 's2 ran beside me')`;
  const files = [fixture('long.test.ts', 0, waitForS2), fixture('s1.test.ts', 10), fixture('s2.test.ts', 10)];
  const r = await runSuite({ cwd: ROOT, files, lanes: 2, write: () => {} });
  assert.deepEqual(r.failed, []);
  const at = (what: string, name: string) => events().find((e) => e.what === what && e.name === name)!.at;
  assert.ok(at('start', 's2.test.ts') >= at('end', 's1.test.ts'), 'never more than two at once');
});

test('a failing test and a file that throws on import both fail the suite, and the others still run', async () => {
  writeFileSync(log, '');
  const bad = fixture('bad.test.ts', 1, 'assert.equal(1, 2)');
  const crash = join(dir, 'crash.test.ts');
  writeFileSync(crash, "throw new Error('broken at import');\n");
  const good = fixture('good.test.ts', 1);
  const out: string[] = [];
  const r = await runSuite({ cwd: ROOT, files: [bad, crash, good], lanes: 2, write: (t) => out.push(t) });
  assert.deepEqual(r.failed.sort(), [bad, crash].sort());
  assert.equal(r.totals.pass, 1);
  assert.equal(r.totals.fail, 1);
  assert.match(out.join(''), /broken at import/);
  assert.ok(r.results.find((x) => x.file === good)!.ok);
});

test('an abort stops the running files, even one that ignores SIGINT, and starts no more', async () => {
  writeFileSync(log, '');
  const ready = join(dir, 'deaf.ready');
  const deaf = fixture(
    'deaf.test.ts',
    0,
    `process.on('SIGINT', () => {}); (await import('node:fs')).writeFileSync(${JSON.stringify(ready)}, ''); await new Promise((r) => setTimeout(r, 20000))`,
  );
  const files = [fixture('slow.test.ts', 20_000), deaf, fixture('never.test.ts', 1)];
  const stop = new AbortController();
  const suite = runSuite({ cwd: ROOT, files, lanes: 2, write: () => {}, signal: stop.signal });
  await waitFor('the SIGINT-deaf file to be ready', () => existsSync(ready) || undefined, 15_000, 50);
  stop.abort();
  const aborted = Date.now();
  const r = await suite;
  // Within the 5 s grace and a margin, well before the deaf file's 20 s sleep would end.
  assert.ok(Date.now() - aborted < 12_000, `the files were stopped after ${Date.now() - aborted} ms`);
  assert.equal(r.interrupted, true);
  assert.deepEqual(
    r.results.map((x) => x.ok),
    [false, false],
  );
  assert.ok(!events().some((e) => e.name === 'never.test.ts'));
});

test('a file past the file timeout is killed with the processes it started, and fails', async () => {
  writeFileSync(log, '');
  const pidFile = join(dir, 'grandchild.pid');
  // The file starts a process of its own (as tests start CLI drivers), then hangs.
  const hang = fixture(
    'hang.test.ts',
    0,
    `const c = (await import('node:child_process')).spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }); (await import('node:fs')).writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); await new Promise((r) => setTimeout(r, 60000))`,
  );
  const good = fixture('after.test.ts', 1);
  const out: string[] = [];
  const begun = Date.now();
  const r = await runSuite({ cwd: ROOT, files: [hang, good], lanes: 1, write: (t) => out.push(t), fileTimeoutS: 5 });
  assert.ok(Date.now() - begun < 30_000, 'the hung file was not stopped');
  assert.deepEqual(r.failed, [hang]);
  assert.equal(r.results[0]!.timedOut, true);
  assert.ok(r.results[1]!.ok, 'the next file still ran');
  assert.match(out.join(''), /hang\.test\.ts \([\d.]+ s, timed out after 5 s: killed with everything it started\)/);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  // Dead: gone, or a zombie its new parent has not reaped yet.
  const dead = () => {
    try {
      process.kill(grandchild, 0);
    } catch {
      return true;
    }
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${grandchild}/stat`, 'utf8'));
  };
  await waitFor('the process the hung file started to die', () => dead() || undefined, 5_000, 50);
});

test('the TAP summary: the last totals of a file, none without a summary', () => {
  const tap = ['# tests 3', '# suites 1', '# pass 2', '# fail 1', '# cancelled 0', '# skipped 0', '# todo 0'].join('\n');
  assert.deepEqual(tapSummary(`# tests 9\n${tap}\n`), { tests: 3, pass: 2, fail: 1, cancelled: 0, skipped: 0, todo: 0 });
  assert.equal(tapSummary('# tests 3\n# pass 3\n'), undefined);
});
