/**
 * The parsed-params cache (engine/fast-start/params-cache.ts): a hit gives what the parser gives, any change
 * to the bytes parses again, a damaged or foreign cache file is ignored, an error always comes from
 * the parser, and values JSON cannot hold are never cached.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseParams } from '../engine/plan/params.ts';
import { jsonExact, readParamsFileCached } from '../engine/fast-start/params-cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'rf-params-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const yamlPath = join(dir, 'params.yaml');
const cacheFile = join(dir, 'artifacts', 'cache', 'params.json');
const TEXT = 'default_profile: b\nprofiles:\n  a: { x: 1, list: [1, 2.5, "s"], nested: { y: null, z: true } }\n  b: { extends: a, x: 2 }\n';

const expected = (text: string) => {
  const f = parseParams(text, yamlPath);
  return { path: f.path, defaultProfile: f.defaultProfile, profiles: f.profiles };
};

test('the first read parses and writes the cache; the second is served from it with the same result', () => {
  writeFileSync(yamlPath, TEXT);
  rmSync(cacheFile, { force: true });
  const first = readParamsFileCached(yamlPath, cacheFile);
  assert.deepEqual(first, expected(TEXT));
  assert.ok(existsSync(cacheFile), 'the parsed form is cached');
  // Served from the cache: an entry altered on disk (same digest) is what comes back.
  const entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as { profiles: Record<string, Record<string, unknown>> };
  entry.profiles['a']!['x'] = 'from the cache';
  writeFileSync(cacheFile, JSON.stringify(entry));
  assert.equal(readParamsFileCached(yamlPath, cacheFile).profiles['a']!['x'], 'from the cache');
});

test('one changed byte parses again', () => {
  writeFileSync(yamlPath, TEXT);
  readParamsFileCached(yamlPath, cacheFile);
  const edited = TEXT.replace('x: 2', 'x: 3');
  writeFileSync(yamlPath, edited);
  assert.deepEqual(readParamsFileCached(yamlPath, cacheFile), expected(edited));
});

test('a damaged cache file is ignored and replaced', () => {
  writeFileSync(yamlPath, TEXT);
  for (const junk of ['', '{"digest": ', '[1, 2]', '{"digest": "x", "profiles": null, "defaultProfile": null}']) {
    writeFileSync(cacheFile, junk);
    assert.deepEqual(readParamsFileCached(yamlPath, cacheFile), expected(TEXT), `cache file ${JSON.stringify(junk)}`);
    assert.doesNotThrow(() => JSON.parse(readFileSync(cacheFile, 'utf8')) as unknown, 'rewritten whole');
  }
});

test('a file that does not parse fails with the parser message although an earlier version is cached', () => {
  writeFileSync(yamlPath, TEXT);
  readParamsFileCached(yamlPath, cacheFile);
  writeFileSync(yamlPath, 'profiles:\n  a: { x: [1, 2\n');
  assert.throws(() => readParamsFileCached(yamlPath, cacheFile), /params\.yaml: YAML syntax error/);
  writeFileSync(yamlPath, 'profiles:\n  a: { x: 1 }\nextra: 1\n');
  assert.throws(() => readParamsFileCached(yamlPath, cacheFile), /unknown top-level key 'extra'/);
  rmSync(yamlPath);
  assert.throws(() => readParamsFileCached(yamlPath, cacheFile), /cannot read .*params\.yaml/);
});

test('values JSON would change (.inf, .nan, -0) are parsed every time, never cached', () => {
  rmSync(cacheFile, { force: true });
  const text = 'profiles:\n  a: { big: .inf, nan: .nan, zero: -0.0 }\n';
  writeFileSync(yamlPath, text);
  for (let i = 0; i < 2; i++) {
    const a = readParamsFileCached(yamlPath, cacheFile).profiles['a'] as Record<string, unknown>;
    assert.equal(a['big'], Infinity);
    assert.ok(Number.isNaN(a['nan']));
    assert.ok(Object.is(a['zero'], -0));
  }
  assert.ok(!existsSync(cacheFile));
});

test('jsonExact accepts exactly what survives a JSON round trip', () => {
  for (const v of [null, 0, 1.5, 'x', true, [], {}, { a: [1, { b: 'c' }] }]) assert.equal(jsonExact(v), true, JSON.stringify(v));
  for (const v of [Infinity, NaN, -0, undefined, new Date(0), new Map(), [1, Infinity], { a: { b: -0 } }, 1n, JSON.parse('{"__proto__": 1}')])
    assert.equal(jsonExact(v), false, String(v));
});
