import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHistory, historyByEpoch, readHistory } from '../ml/train/history.ts';

/** The training history survives kills: appends are atomic, and a torn line left by an older version does not fail a finished run. */

const dir = mkdtempSync(join(tmpdir(), 'rf-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('appends rewrite the file atomically: whole lines only, no temporary file left', () => {
  const path = join(dir, 'a.jsonl');
  for (let epoch = 1; epoch <= 5; epoch++) appendHistory(path, { epoch, loss: 1 / epoch });
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.deepEqual(
    text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { epoch: number }).epoch),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('tmp')),
    [],
  );
});

test('a torn last line (a kill in the middle of an old-style append) is dropped; the run resumes and finishes', () => {
  const path = join(dir, 'torn.jsonl');
  writeFileSync(path, `${JSON.stringify({ epoch: 1, loss: 2 })}\n${JSON.stringify({ epoch: 2, loss: 1.5 })}\n{"epoch":3,"lo`);
  assert.deepEqual(
    readHistory(path).map((e) => e.epoch),
    [1, 2],
  );
  // Resuming re-runs epoch 3 and appends it: the torn text must not be glued to the new record.
  appendHistory(path, { epoch: 3, loss: 1.2 });
  appendHistory(path, { epoch: 2, loss: 1.4 });
  assert.deepEqual(
    historyByEpoch(path).map((e) => [e.epoch, e['loss']]),
    [
      [1, 2],
      [2, 1.4],
      [3, 1.2],
    ],
  );
});

test('a damaged line that is not the last is an error naming the file and line', () => {
  const path = join(dir, 'bad.jsonl');
  writeFileSync(path, `${JSON.stringify({ epoch: 1 })}\nnot json\n${JSON.stringify({ epoch: 2 })}\n`);
  assert.throws(() => readHistory(path), /bad\.jsonl: line 2 is not an epoch record/);
});
