/**
 * HTTP(S) download for the dataset fetch stages: resumes an interrupted transfer from its `.part`
 * file with a Range request, follows redirects, reports bytes as progress, verifies size and MD5,
 * and renames into place only when the file is whole and right. A `.part` proven wrong (bad
 * checksum, wrong size) is removed, so a rerun starts clean.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { ProgressSink } from '../../contracts/progress.ts';

export interface Expected {
  /** Size in bytes. */
  readonly size?: number;
  /** MD5 as 32 hex digits. */
  readonly md5?: string;
}

export interface DownloadOptions {
  readonly url: string;
  /** Final path; the transfer goes to `${dest}.part` until verified. */
  readonly dest: string;
  readonly expected?: Expected;
  /** Automatic resumes after an interrupted transfer within this call (default 5). */
  readonly retries?: number;
  /** Abort an attempt when no byte arrives for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Pause before a resume attempt, times the attempt number (default 1 s). */
  readonly retryDelayMs?: number;
  readonly onProgress?: ProgressSink;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly md5: string;
  /** Bytes taken over from an earlier, interrupted transfer. */
  readonly resumedFrom: number;
  /** HTTP requests made (0 when `dest` was already there and right). */
  readonly requests: number;
}

/** A transfer that stopped early: the `.part` file keeps what arrived. */
class Interrupted extends Error {}

/** MD5 (hex) and size of a file, streamed. */
export async function hashFile(path: string, onProgress?: ProgressSink): Promise<{ md5: string; bytes: number }> {
  const hash = createHash('md5');
  const total = statSync(path).size;
  let done = 0;
  const report = throttle(onProgress);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    report(done, total, false);
  }
  report(done, total, true);
  return { md5: hash.digest('hex'), bytes: done };
}

/** Throws a clear error when a file does not have the expected size or MD5. */
export async function verifyFile(path: string, expected: Expected, onProgress?: ProgressSink): Promise<string> {
  const size = statSync(path).size;
  if (expected.size !== undefined && size !== expected.size) {
    throw new Error(`${path}: ${size} bytes, expected ${expected.size}`);
  }
  const { md5 } = await hashFile(path, onProgress);
  if (expected.md5 !== undefined && md5 !== expected.md5.toLowerCase()) {
    throw new Error(`${path}: MD5 ${md5}, expected ${expected.md5.toLowerCase()}`);
  }
  return md5;
}

function throttle(onProgress: ProgressSink | undefined): (done: number, total: number, final: boolean) => void {
  let last = 0;
  const start = Date.now();
  return (done, total, final) => {
    if (!onProgress) return;
    const now = Date.now();
    if (!final && now - last < 200) return;
    last = now;
    const seconds = Math.max((now - start) / 1000, 1e-3);
    onProgress({ done, total, unit: 'bytes', info: { MB_per_s: Number((done / 1e6 / seconds).toFixed(2)) } });
  };
}

/** "bytes 100-199/1000" -> { start: 100, total: 1000 } */
function parseContentRange(value: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

interface Attempt {
  /** Bytes in the .part file after the attempt. */
  readonly size: number;
  /** The full size of the resource, when the server said it. */
  readonly total: number | undefined;
}

function request(url: URL, headers: Record<string, string>, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!lib) throw new Error(`download: unsupported protocol in ${url.href}`);
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers: { 'user-agent': 'robustfeat', ...headers } }, resolve);
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Interrupted(`no data from ${url.href} for ${idleTimeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof Interrupted ? err : new Interrupted(`${url.href}: ${err.message}`)));
  });
}

/** One GET, following redirects, appending to the .part file (or restarting it when the server ignores Range). */
async function attempt(
  opts: DownloadOptions,
  part: string,
  hash: { current: Hash },
  offset: number,
  report: (done: number, total: number, final: boolean) => void,
): Promise<Attempt> {
  const idle = opts.idleTimeoutMs ?? 60_000;
  let url = new URL(opts.url);
  let res: http.IncomingMessage;
  for (let redirects = 0; ; redirects++) {
    res = await request(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, idle);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (redirects >= 10) throw new Error(`download ${opts.url}: too many redirects`);
      url = new URL(res.headers.location, url);
      continue;
    }
    break;
  }
  const status = res.statusCode ?? 0;
  let total: number | undefined;
  if (status === 206 && offset > 0) {
    const range = parseContentRange(res.headers['content-range']);
    if (!range || range.start !== offset) {
      res.resume();
      throw new Error(`download ${url.href}: server answered range ${res.headers['content-range']} to a request from byte ${offset}`);
    }
    total = range.total;
  } else if (status === 200) {
    if (offset > 0) {
      // The server ignores Range: start over.
      rmSync(part, { force: true });
      hash.current = createHash('md5');
      offset = 0;
    }
    const len = res.headers['content-length'];
    total = len !== undefined ? Number(len) : undefined;
  } else if (status === 416 && offset > 0) {
    res.resume();
    // Our .part is at least as long as the resource: let the caller verify or restart.
    return { size: offset, total: undefined };
  } else {
    res.resume();
    throw new Error(`download ${url.href}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
  }
  const expectedSize = opts.expected?.size;
  if (total !== undefined && expectedSize !== undefined && total !== expectedSize) {
    res.resume();
    rmSync(part, { force: true });
    throw new Error(`download ${url.href}: the server announces ${total} bytes, expected ${expectedSize}`);
  }
  const reportTotal = expectedSize ?? total ?? 0;
  const fd = openSync(part, offset > 0 ? 'a' : 'w');
  let size = offset;
  try {
    await new Promise<void>((resolve, reject) => {
      res.setTimeout(idle, () => res.destroy(new Interrupted(`no data from ${url.href} for ${idle} ms`)));
      res.on('data', (chunk: Buffer) => {
        try {
          let done = 0;
          while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
        } catch (err) {
          res.destroy(err as Error);
          return;
        }
        hash.current.update(chunk);
        size += chunk.length;
        report(size, reportTotal, false);
      });
      res.on('end', () => resolve());
      res.on('aborted', () => reject(new Interrupted(`${url.href}: connection closed at byte ${size}`)));
      res.on('error', (err) => reject(err instanceof Interrupted ? err : new Interrupted(`${url.href}: ${err.message}`)));
      res.on('close', () => {
        if (!res.complete) reject(new Interrupted(`${url.href}: connection closed at byte ${size}`));
      });
    });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (total !== undefined && size < total) throw new Interrupted(`${url.href}: transfer ended at byte ${size} of ${total}`);
  return { size, total };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Downloads `url` to `dest` (see the module comment). Rerunning after a failure resumes. */
export async function download(opts: DownloadOptions): Promise<DownloadResult> {
  const { dest, expected = {} } = opts;
  const wantMd5 = expected.md5?.toLowerCase();
  if (wantMd5 !== undefined && !/^[0-9a-f]{32}$/.test(wantMd5)) throw new Error(`download: bad expected MD5 "${expected.md5}"`);
  if (existsSync(dest)) {
    try {
      const md5 = await verifyFile(dest, expected);
      return { path: dest, bytes: statSync(dest).size, md5, resumedFrom: 0, requests: 0 };
    } catch {
      rmSync(dest, { force: true }); // a stale download under the final name: fetch it again
    }
  }
  const part = `${dest}.part`;
  let offset = existsSync(part) ? statSync(part).size : 0;
  if (expected.size !== undefined && offset > expected.size) {
    rmSync(part, { force: true });
    offset = 0;
  }
  const resumedFrom = offset;
  const hash = { current: createHash('md5') };
  if (offset > 0) {
    for await (const chunk of createReadStream(part)) hash.current.update(chunk as Buffer);
  }
  const report = throttle(opts.onProgress);
  const retries = opts.retries ?? 5;
  let requests = 0;
  let result: Attempt | undefined;
  for (let tries = 0; ; tries++) {
    if (expected.size !== undefined && offset === expected.size) {
      result = { size: offset, total: expected.size };
      break;
    }
    try {
      requests++;
      // A 416 answer returns the .part as it is: the size and MD5 checks below decide.
      result = await attempt(opts, part, hash, offset, report);
      break;
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      offset = existsSync(part) ? statSync(part).size : 0;
      if (tries >= retries) {
        throw new Error(`download ${opts.url} interrupted (${err.message}); ${offset} bytes kept in ${part}, rerun to resume`);
      }
      await sleep((opts.retryDelayMs ?? 1000) * (tries + 1));
    }
  }
  report(result.size, expected.size ?? result.total ?? result.size, true);
  const md5 = hash.current.digest('hex');
  if (expected.size !== undefined && result.size !== expected.size) {
    rmSync(part, { force: true });
    throw new Error(`download ${opts.url}: got ${result.size} bytes, expected ${expected.size} (removed ${part}; rerun to start over)`);
  }
  if (wantMd5 !== undefined && md5 !== wantMd5) {
    rmSync(part, { force: true });
    throw new Error(`download ${opts.url}: MD5 ${md5}, expected ${wantMd5} (removed ${part}; rerun to start over)`);
  }
  renameSync(part, dest);
  return { path: dest, bytes: result.size, md5, resumedFrom, requests };
}
