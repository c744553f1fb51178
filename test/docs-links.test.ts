import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every reference stays inside the repository: no file outside docs/ cites the external algorithm
 * spec or the folder beside the checkout that held it and the paper (a clone has neither; what the
 * code needs is stated in docs/, docs/method/ first), and every `docs/….md` path cited in code or
 * prose, and every relative Markdown link, names a file that exists, and a heading in it where the
 * citation names a section (`#anchor`, GitHub's slug of the heading).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Written in pieces so that this file does not match its own patterns.
const EXTERNAL = [['SPEC', '.md'].join(''), ['..', 'shared', ''].join('/'), ['', 'work', 'shared', ''].join('/')];

/**
 * Files that may name the folder beside the checkout, and why. report-paper.test.ts re-reads the
 * paper's tables from its text where a copy is on the machine, and from the committed excerpt
 * (test/fixtures/report/paper-tables.txt) everywhere else: it depends on nothing outside the clone.
 */
const ALLOWED_EXTERNAL: Readonly<Record<string, string>> = {
  'test/report-paper.test.ts': 'optional copy of the paper text; the committed fixture otherwise',
};

const TEXT = new Set(['.ts', '.mjs', '.js', '.cjs', '.py', '.sh', '.yaml', '.yml', '.md', '.cc', '.h', '.json', '']);

/** Tracked files (git), or every file but build outputs and dependencies where there is no git. */
function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(ROOT, f)));
  } catch {
    const skip = new Set(['node_modules', 'dist', 'artifacts', 'reports', '.git', 'build']);
    const walk = (dir: string): string[] =>
      readdirSync(join(ROOT, dir)).flatMap((n) => {
        if (skip.has(n)) return [];
        const p = dir ? `${dir}/${n}` : n;
        return statSync(join(ROOT, p)).isDirectory() ? walk(p) : [p];
      });
    return walk('');
  }
}

const files = trackedFiles().filter((f) => TEXT.has(extname(f)) && f !== 'package-lock.json' && statSync(join(ROOT, f)).size < 2_000_000);
const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation and symbols dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings (outside code fences), duplicates numbered as GitHub does. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const h = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let a = anchorCache.get(file);
  if (!a) {
    a = anchors(read(file));
    anchorCache.set(file, a);
  }
  return a;
}

/** What is wrong with a reference to `target` (repository-relative) and `anchor`, or null. */
function problem(target: string, anchor: string | undefined): string | null {
  const abs = join(ROOT, target);
  if (!existsSync(abs)) return `${target} does not exist`;
  if (anchor === undefined || anchor === '') return null;
  if (!target.endsWith('.md')) return null;
  const known = anchorsOf(target);
  return known.has(decodeURIComponent(anchor)) ? null : `${target} has no heading #${anchor} (it has ${[...known].map((k) => `#${k}`).join(' ')})`;
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length;

test('no file outside docs/ cites the external spec or the folder beside the checkout', () => {
  const offences: string[] = [];
  for (const f of files) {
    if (f.startsWith('docs/') || f === 'test/docs-links.test.ts') continue;
    const text = read(f);
    for (const pattern of EXTERNAL) {
      let i = text.indexOf(pattern);
      while (i >= 0) {
        if (!(f in ALLOWED_EXTERNAL) || pattern === EXTERNAL[0]) offences.push(`${f}:${lineOf(text, i)}: cites ${pattern}`);
        i = text.indexOf(pattern, i + 1);
      }
    }
  }
  assert.deepEqual(offences, [], `cite the docs/ page (and section) that states it instead:\n${offences.join('\n')}`);
});

test('every docs/….md path cited in code or prose exists, with the section it names', () => {
  const offences: string[] = [];
  // Repository-relative citations: `docs/method/pgd-and-grids.md#l2`, not preceded by a path part.
  const cite = /(?<![\w./-])(docs\/[\w./-]*?\.md)(?:#([\p{L}\p{N}_-]+))?/gu;
  for (const f of files) {
    if (f === 'test/docs-links.test.ts') continue;
    const text = read(f);
    for (const m of text.matchAll(cite)) {
      const why = problem(m[1]!, m[2]);
      if (why) offences.push(`${f}:${lineOf(text, m.index)}: ${why}`);
    }
  }
  assert.deepEqual(offences, [], offences.join('\n'));
});

test('every relative link in the Markdown files resolves, with the section it names', () => {
  const offences: string[] = [];
  const link = /\]\(([^)\s]+)\)/g;
  for (const f of files.filter((x) => x.endsWith('.md'))) {
    const text = read(f);
    let fence = false;
    let offset = 0;
    for (const line of text.split('\n')) {
      if (/^\s*(```|~~~)/.test(line)) fence = !fence;
      if (!fence) {
        for (const m of line.matchAll(link)) {
          const href = m[1]!;
          if (/^[a-z]+:/i.test(href)) continue;
          const [path, anchor] = href.split('#', 2) as [string, string | undefined];
          const target = path === '' ? f : relative(ROOT, join(ROOT, dirname(f), path));
          const why = problem(target, anchor);
          if (why) offences.push(`${f}:${lineOf(text, offset)}: ${href}: ${why}`);
        }
      }
      offset += line.length + 1;
    }
  }
  assert.deepEqual(offences, [], offences.join('\n'));
});

test('every source file the README, the changelog and docs/ name exists (a moved file is a stale doc)', () => {
  const offences: string[] = [];
  const source = /(?<![\w./-])((?:base|bench|contracts|engine|experiments|ml|native|report|stages|test|\.ci)\/[\w./-]*\.(?:ts|mjs|py|sh|cc|h))\b/g;
  for (const f of files.filter((x) => x.endsWith('.md') && (x.startsWith('docs/') || !x.includes('/')))) {
    const text = read(f);
    for (const m of text.matchAll(source)) if (!existsSync(join(ROOT, m[1]!))) offences.push(`${f}:${lineOf(text, m.index)}: ${m[1]} does not exist`);
  }
  assert.deepEqual(offences, [], offences.join('\n'));
});

test('the slug follows GitHub on the headings these docs use', () => {
  assert.equal(slug("The paper's settings"), 'the-papers-settings');
  assert.equal(slug('Building D_R'), 'building-d_r');
  assert.equal(slug('Node locks: hand-written, not proper-lockfile'), 'node-locks-hand-written-not-proper-lockfile');
  assert.equal(slug('Widths and depths: `width` and `blocks`'), 'widths-and-depths-width-and-blocks');
  assert.equal(slug('G-ResNet (p4m)'), 'g-resnet-p4m');
  assert.deepEqual([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')], ['a', 'b', 'b-1']);
});
