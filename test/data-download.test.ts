import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download, verifyFile } from '../ml/data/download.ts';
import type { ProgressEvent } from '../contracts/progress.ts';

const dir = mkdtempSync(join(tmpdir(), 'rf-download-'));
const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff));
const md5 = createHash('md5').update(body).digest('hex');

/** Behaviour of the next requests, consumed in order; 'normal' once the list is empty. */
type Mode = 'normal' | 'cut' | 'ignore-range' | 'redirect' | 'missing';
let plan: Mode[] = [];
const seen: Array<{ path: string; range: string | undefined }> = [];

const server = http.createServer((req, res) => {
  const mode = plan.shift() ?? 'normal';
  seen.push({ path: req.url ?? '', range: req.headers.range });
  if (req.url === '/moved' || mode === 'redirect') {
    res.writeHead(302, { location: '/file' });
    res.end();
    return;
  }
  if (mode === 'missing') {
    res.writeHead(404);
    res.end();
    return;
  }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m && mode !== 'ignore-range' ? Number(m[1]) : 0;
  const headers = { 'content-length': String(body.length - start) };
  if (start > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
  else res.writeHead(200, headers);
  if (mode === 'cut') {
    // Send a third of what is left, then drop the connection.
    res.write(body.subarray(start, start + Math.floor((body.length - start) / 3)), () => res.socket?.destroy());
    return;
  }
  res.end(body.subarray(start));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function reset(): void {
  plan = [];
  seen.length = 0;
}

test('downloads, verifies size and MD5, reports byte progress, renames into place', async () => {
  reset();
  const dest = join(dir, 'a.bin');
  const events: ProgressEvent[] = [];
  const r = await download({ url: `${base}/file`, dest, expected: { size: body.length, md5 }, onProgress: (e) => events.push(e) });
  assert.deepEqual(readFileSync(dest), body);
  assert.equal(r.md5, md5);
  assert.equal(existsSync(`${dest}.part`), false);
  const last = events.at(-1)!;
  assert.equal(last.done, body.length);
  assert.equal(last.total, body.length);
  assert.equal(last.unit, 'bytes');
  // Already there and right: no request at all.
  const again = await download({ url: `${base}/file`, dest, expected: { md5 } });
  assert.equal(again.requests, 0);
});

test('an interrupted transfer keeps its .part and the next run resumes with a Range request', async () => {
  reset();
  const dest = join(dir, 'b.bin');
  plan = ['cut'];
  await assert.rejects(download({ url: `${base}/file`, dest, expected: { md5 }, retries: 0 }), /interrupted.*rerun to resume/);
  const kept = statSync(`${dest}.part`).size;
  assert.ok(kept > 0 && kept < body.length, `kept ${kept}`);
  const r = await download({ url: `${base}/file`, dest, expected: { size: body.length, md5 } });
  assert.equal(r.resumedFrom, kept);
  assert.equal(seen.at(-1)!.range, `bytes=${kept}-`);
  assert.deepEqual(readFileSync(dest), body);
});

test('within one call, interruptions are resumed automatically', async () => {
  reset();
  const dest = join(dir, 'c.bin');
  plan = ['cut', 'cut'];
  const r = await download({ url: `${base}/file`, dest, expected: { md5 }, retryDelayMs: 1 });
  assert.equal(r.requests, 3);
  assert.equal(seen[0]!.range, undefined);
  assert.match(seen[1]!.range ?? '', /^bytes=\d+-$/);
  assert.deepEqual(readFileSync(dest), body);
});

test('a server that ignores Range restarts the file from zero', async () => {
  reset();
  const dest = join(dir, 'd.bin');
  writeFileSync(`${dest}.part`, Buffer.from('garbage that a resume would have kept'));
  plan = ['ignore-range'];
  const r = await download({ url: `${base}/file`, dest, expected: { md5 } });
  assert.match(seen[0]!.range ?? '', /^bytes=/);
  assert.equal(r.md5, md5);
  assert.deepEqual(readFileSync(dest), body);
});

test('a wrong checksum is an error and the wrong .part is removed', async () => {
  reset();
  const dest = join(dir, 'e.bin');
  const wrong = '0'.repeat(32);
  await assert.rejects(
    download({ url: `${base}/file`, dest, expected: { md5: wrong } }),
    (e: Error) => e.message.includes(`MD5 ${md5}, expected ${wrong}`) && e.message.includes('rerun to start over'),
  );
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(`${dest}.part`), false);
});

test('a size mismatch announced by the server, HTTP errors, redirects', async () => {
  reset();
  const dest = join(dir, 'f.bin');
  await assert.rejects(download({ url: `${base}/file`, dest, expected: { size: 12 } }), /announces 300000 bytes, expected 12/);
  plan = ['missing'];
  await assert.rejects(download({ url: `${base}/nothing`, dest }), (e: Error) => e.message.includes(`${base}/nothing`) && /HTTP 404/.test(e.message));
  const r = await download({ url: `${base}/moved`, dest, expected: { md5 } });
  assert.equal(r.requests, 1);
  assert.deepEqual(
    seen.slice(-2).map((s) => s.path),
    ['/moved', '/file'],
  );
});

test('verifyFile names the file and what differs', async () => {
  const path = join(dir, 'local.bin');
  writeFileSync(path, body);
  assert.equal(await verifyFile(path, { size: body.length, md5 }), md5);
  await assert.rejects(verifyFile(path, { size: 5 }), new RegExp(`${path}: 300000 bytes, expected 5`));
  await assert.rejects(verifyFile(path, { md5: 'f'.repeat(32) }), /MD5 [0-9a-f]{32}, expected f{32}/);
});
