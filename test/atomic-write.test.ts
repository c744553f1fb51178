/**
 * The one atomic writer (base/atomic-write.ts), through an injected file system that records every
 * call: the data is fsynced before the rename, the folder after it, and a write that fails at any
 * step leaves the old file whole and no temporary file behind.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic, type AtomicFs } from '../base/atomic-write.ts';

const dir = mkdtempSync(join(tmpdir(), 'rf-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** node:fs with every call recorded (fds named by the path they were opened on), and one that can be made to fail. */
function recordingFs(failAt?: { call: keyof AtomicFs; afterBytes?: number }): { fs: AtomicFs; calls: string[] } {
  const calls: string[] = [];
  const names = new Map<number, string>();
  let written = 0;
  const rec: AtomicFs = {
    mkdirSync: ((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => fs.mkdirSync(p, o)) as AtomicFs['mkdirSync'],
    openSync: ((p: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => {
      const fd = fs.openSync(p, flags, mode);
      names.set(fd, String(p) === dir ? 'dir' : String(p).endsWith('.tmp') ? 'tmp' : String(p));
      calls.push(`open ${names.get(fd)}`);
      return fd;
    }) as AtomicFs['openSync'],
    writeSync: ((fd: number, buf: Uint8Array, off: number, len: number) => {
      // Writes a few bytes at a time, so a failure can strike with part of the data on disk.
      const n = fs.writeSync(fd, buf, off, Math.min(len, 3));
      written += n;
      if (failAt?.call === 'writeSync' && written >= (failAt.afterBytes ?? 0)) throw new Error('disk full');
      calls.push('write');
      return n;
    }) as AtomicFs['writeSync'],
    fsyncSync: (fd) => {
      calls.push(`fsync ${names.get(fd)}`);
      fs.fsyncSync(fd);
    },
    closeSync: (fd) => {
      calls.push(`close ${names.get(fd)}`);
      fs.closeSync(fd);
    },
    renameSync: (a, b) => {
      if (failAt?.call === 'renameSync') throw new Error('EXDEV');
      calls.push('rename');
      fs.renameSync(a, b);
    },
    rmSync: (p, o) => {
      calls.push('rm tmp');
      fs.rmSync(p, o);
    },
  };
  return { fs: rec, calls };
}

const leftovers = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

test('the data is fsynced before the rename and the folder after it', () => {
  const target = join(dir, 'a.json');
  const { fs: rec, calls } = recordingFs();
  writeFileAtomic(target, 'hello, world', { fs: rec });
  assert.equal(readFileSync(target, 'utf8'), 'hello, world');
  const compact = calls.filter((c, i) => c !== 'write' || calls[i - 1] !== 'write');
  assert.deepEqual(compact, ['open tmp', 'write', 'fsync tmp', 'close tmp', 'rename', 'open dir', 'fsync dir', 'close dir']);
  assert.deepEqual(leftovers(), []);
});

test('a write that fails midway leaves the old file whole and no temporary file', () => {
  const target = join(dir, 'b.json');
  writeFileSync(target, 'old contents');
  const { fs: rec } = recordingFs({ call: 'writeSync', afterBytes: 6 });
  assert.throws(() => writeFileAtomic(target, 'new contents that never land', { fs: rec }), /disk full/);
  assert.equal(readFileSync(target, 'utf8'), 'old contents');
  assert.deepEqual(leftovers(), []);
});

test('a rename that fails leaves the old file whole and no temporary file', () => {
  const target = join(dir, 'c.json');
  writeFileSync(target, 'old');
  const { fs: rec, calls } = recordingFs({ call: 'renameSync' });
  assert.throws(() => writeFileAtomic(target, 'new', { fs: rec }), /EXDEV/);
  assert.equal(readFileSync(target, 'utf8'), 'old');
  assert.ok(calls.includes('rm tmp'));
  assert.deepEqual(leftovers(), []);
});

test('bytes, a new folder and a mode', () => {
  const target = join(dir, 'sub', 'run.sh');
  writeFileAtomic(target, new Uint8Array([35, 33, 10]), { mode: 0o755 });
  assert.deepEqual([...readFileSync(target)], [35, 33, 10]);
  assert.equal(statSync(target).mode & 0o111, 0o111 & ~process.umask());
});
