/**
 * A miniature of every experiment, end to end through the real CLI (`tsx pipeline.ts`), on the
 * repository's params.yaml with a `mini` profile extending `demo` at tiny sizes: the synthetic
 * set, f_A and D_R, Q1's snapshots, Q2's D_mix models, Q3's four families, D_NR; then the table
 * and figure files are checked as a reader would (labels, paper column, numbers in [0, 100]).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { MINI_PROFILE } from './helpers/mini-profile.ts';
import { BlobStore } from '../engine/state/store.ts';
import { attackLabel } from '../report/labels.ts';
import { memoSafeBackend } from '../ml/attacks/prediction-memo.ts';
import { plannedBackend } from '../ml/backend/planned.ts';
import { parseBackendChoice } from '../ml/backend/choice.ts';

// The backend the run's nodes start (RF_BACKEND=webgpu runs this on webgpu, where the memo is off).
const runBackend = plannedBackend(parseBackendChoice(process.env['RF_BACKEND'] ?? 'auto', 'RF_BACKEND'));
const noMemo = memoSafeBackend(runBackend) ? false : `the memo does not trust ${runBackend}, so no evaluation reuses labels`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const MINI = MINI_PROFILE;

function cli(dir: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The fields of one CSV line (RFC 4180 quoting, as report/ writes it). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted && ch === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  return [...out, field];
}

/** A report CSV as records keyed by its header. */
function csvRecords(path: string): Array<Record<string, string>> {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const names = csvFields(head!);
  return lines.map((l) => Object.fromEntries(csvFields(l).map((v, i) => [names[i]!, v])));
}

interface StoredEvaluation {
  readonly attack: string;
  readonly naturalAccuracy: number;
  readonly robustAccuracy: number;
  readonly asr: number | null;
}

/** The evaluation an evaluate node registered last, read from the store as any reader would. */
function storedEvaluation(dir: string, db: Database.Database, nodeId: string): StoredEvaluation {
  const row = db
    .prepare(
      "SELECT n.params AS params, o.digest AS digest FROM nodes n JOIN outputs o ON o.node_key = n.key WHERE n.node_id = ? AND o.name = 'result' ORDER BY n.registered_at DESC LIMIT 1",
    )
    .get(nodeId) as { params: string; digest: string } | undefined;
  assert.ok(row, `no registered result for ${nodeId}`);
  const attack = (JSON.parse(row.params) as { attack: unknown }).attack;
  const result = JSON.parse(readFileSync(new BlobStore(join(dir, 'artifacts')).blobPath(row.digest), 'utf8')) as Omit<StoredEvaluation, 'attack'>;
  return { ...result, attack: typeof attack === 'string' ? attack : JSON.stringify(attack) };
}

/** Every "ours (paper)" number of a Markdown table, as numbers. */
function tableNumbers(md: string): number[] {
  return [...md.matchAll(/(?<![\w.])(\d{1,3}\.\d{1,2})(?![\d])/g)].map((m) => Number(m[1]));
}

describe('experiments end to end (miniature profile through the CLI)', { timeout: 900_000 }, () => {
  let dir: string;
  let run: { code: number | null; out: string };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rf-e2e-'));
    const params = parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8')) as { profiles: Record<string, unknown> };
    params.profiles['mini'] = MINI;
    writeFileSync(join(dir, 'params.yaml'), stringify(params));
    run = cli(dir, ['repro', 'all', '--profile', 'mini', '--jobs', '2']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every node of `all` and prints the tables', () => {
    assert.equal(run.code, 0, run.out.slice(-4000));
    assert.match(run.out, /Table 1/);
    assert.match(run.out, /SYNTHETIC DATA/);
  });

  it('writes Tables 1-4 with our value beside the paper value, all percentages', () => {
    for (const t of ['table1', 'table2', 'table3', 'table4']) {
      const md = readFileSync(join(dir, 'reports', 'mini', `${t}.md`), 'utf8');
      assert.match(md, /Profile: `mini`/, t);
      assert.match(md, /synthetic/i, t);
      const expectedRows = t === 'table2' ? ['lr=0.01', 'lr=0.005'] : ['rot30', 'grid135', 'grid775'];
      for (const row of expectedRows) assert.ok(md.includes(row), `${t} lacks row ${row}`);
      const nums = tableNumbers(md);
      assert.ok(nums.length >= 12, `${t}: too few numbers`);
      for (const n of nums) assert.ok(n >= 0 && n <= 100, `${t}: ${n} outside [0, 100]`);
      const csv = readFileSync(join(dir, 'reports', 'mini', `${t}.csv`), 'utf8')
        .trim()
        .split('\n');
      assert.match(csv[0]!, /^table,profile,synthetic,row,column,ours,paper/);
      const header = csv[0]!.split(',');
      const ours = header.indexOf('ours');
      const paper = header.indexOf('paper');
      const rows = csv.slice(1).map((l) => l.split(','));
      assert.ok(
        rows.some((r) => r[ours] !== ''),
        `${t}: no value of ours`,
      );
      if (t === 'table1')
        assert.ok(
          rows.some((r) => r[paper] === '94.84'),
          'table1: the paper column lacks ResNet-50 on D (94.84)',
        );
      for (const r of rows) {
        for (const v of [r[ours], r[paper]]) if (v) assert.ok(Number(v) >= 0 && Number(v) <= 100, `${t}: ${v} outside [0, 100]`);
      }
    }
    // Table 1 holds every family with a value of ours; PTN's column has ours but no paper value.
    const t1 = readFileSync(join(dir, 'reports', 'mini', 'table1.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const col = (name: string) => t1[0]!.indexOf(name);
    for (const family of ['ResNet-50', 'G-ResNet', 'STN', 'PTN']) {
      const mine = t1.slice(1).filter((r) => r[col('column')]!.startsWith(family));
      assert.ok(
        mine.some((r) => r[col('ours')] !== ''),
        `table1 has no value of ours for ${family}`,
      );
      if (family === 'PTN')
        assert.ok(
          mine.every((r) => r[col('paper')] === ''),
          'table1: PTN has a paper value',
        );
    }
  });

  it('draws Figures 1-3 as SVG and PNG with labelled axes and CSV points in range', () => {
    for (const f of ['fig1', 'fig2', 'fig3']) {
      const svg = readFileSync(join(dir, 'reports', 'mini', `${f}.svg`), 'utf8');
      assert.match(svg, /^<svg|<svg /);
      const png = readFileSync(join(dir, 'reports', 'mini', `${f}.png`));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      const md = readFileSync(join(dir, 'reports', 'mini', `${f}.md`), 'utf8');
      assert.match(md, /paper/i);
      const csv = readFileSync(join(dir, 'reports', 'mini', `${f}.csv`), 'utf8')
        .trim()
        .split('\n');
      const header = csv[0]!.split(',');
      const y = header.indexOf('y');
      assert.ok(csv.length > 2, `${f}: no points`);
      for (const line of csv.slice(1)) {
        const v = Number(line.split(',')[y]);
        assert.ok(v >= 0 && v <= 100, `${f}: y=${v} outside [0, 100]`);
      }
    }
    assert.match(readFileSync(join(dir, 'reports', 'mini', 'fig1.svg'), 'utf8'), /training iterations/);
    assert.match(readFileSync(join(dir, 'reports', 'mini', 'fig3.svg'), 'utf8'), /α|alpha/i);
  });

  it('writes the ground-truth report (Markdown, CSV, figure) and the D_R / D_NR quality reports', () => {
    const md = readFileSync(join(dir, 'reports', 'mini', 'ground-truth.md'), 'utf8');
    assert.match(md, /SYNTHETIC DATA/);
    assert.match(md, /Profile: `mini`/);
    for (const q of ['**Q1**', '**Q2**', '**Q3**', '**D_NR**']) assert.ok(md.includes(q), `ground-truth.md lacks the answer to ${q}`);
    assert.match(md, /not measurable in the paper/);
    const csv = readFileSync(join(dir, 'reports', 'mini', 'ground-truth.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.match(csv[0]!, /^report,profile,synthetic,experiment,subject,measure,ours,paper,nodes$/);
    const experiments = new Set(csv.slice(1).map((l) => l.split(',')[3]));
    for (const e of ['dataset', 'q1', 'q2', 'q3', 'fA', 'dnr']) assert.ok(experiments.has(e), `ground-truth.csv has no ${e} rows`);
    for (const l of csv.slice(1)) {
      const ours = Number(l.split(',').at(-3));
      assert.ok(Number.isFinite(ours), l);
    }
    const svg = readFileSync(join(dir, 'reports', 'mini', 'ground-truth.svg'), 'utf8');
    for (const axis of ['training iterations', 'natural accuracy (%)', 'mix ratio α', 'share of test images (%)'])
      assert.ok(svg.includes(axis), `figure lacks axis ${axis}`);
    assert.deepEqual([...readFileSync(join(dir, 'reports', 'mini', 'ground-truth.png')).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    // One name per built set (docs/naming.md): node dataset-quality@ddet, file ddet-quality.md, title "D_det quality".
    for (const [q, title] of [
      ['dr-quality', 'D_R'],
      ['ddet-quality', 'D_det'],
      ['drand-quality', 'D_rand'],
    ]) {
      const text = readFileSync(join(dir, 'reports', 'mini', `${q}.md`), 'utf8');
      assert.ok(text.startsWith(`# ${title} quality`), `${q}.md: ${text.slice(0, 60)}`);
      assert.match(text, /robust pattern matches/, q);
      assert.match(readFileSync(join(dir, 'reports', 'mini', `${q}.csv`), 'utf8'), /^report,profile,synthetic,construction,measure,ideal,ours/);
    }
    assert.match(run.out, /D_R quality/);
  });

  it('every table cell and figure point is exactly the stored result of the evaluation node it names', () => {
    const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
    const evaluation = (id: string) => storedEvaluation(dir, db, id);
    const evaluationsOf = (nodes: string) => nodes.split(' ').filter((n) => n.startsWith('evaluate@'));
    let cells = 0;
    for (const t of ['table1', 'table2', 'table3', 'table4']) {
      for (const r of csvRecords(join(dir, 'reports', 'mini', `${t}.csv`))) {
        if (r['ours'] === '') continue;
        const named = evaluationsOf(r['nodes']!);
        assert.equal(named.length, 1, `${t} ${r['row']}/${r['column']}: one evaluation node, got ${r['nodes']}`);
        const e = evaluation(named[0]!);
        // Table 2's rows are learning rates; every other row is the attack the cell reports.
        const attack = t === 'table2' ? e.attack : r['row'];
        assert.equal(e.attack === attack || attack === 'none', true, `${t}: ${named[0]} ran ${e.attack}, the row is ${attack}`);
        const expected = (attack === 'none' ? e.naturalAccuracy : e.robustAccuracy) * 100;
        if (t !== 'table2') assert.equal(Number(r['ours']), expected, `${t} ${r['row']}/${r['column']} from ${named[0]}`);
        else assert.ok([e.naturalAccuracy * 100, e.robustAccuracy * 100].includes(Number(r['ours'])), `table2 ${r['row']}/${r['column']} from ${named[0]}`);
        cells++;
      }
    }
    let points = 0;
    for (const f of ['fig1', 'fig2', 'fig3']) {
      for (const p of csvRecords(join(dir, 'reports', 'mini', `${f}.csv`))) {
        // The point's series names its attack: the one named evaluation whose attack has that label.
        const matching = evaluationsOf(p['nodes']!)
          .map((id) => ({ id, e: evaluation(id) }))
          .filter(({ e }) => {
            const label = e.attack === 'none' ? 'natural' : attackLabel(e.attack);
            return p['series'] === label || p['series']!.endsWith(`, ${label}`);
          });
        assert.equal(matching.length, 1, `${f} ${p['panel']} ${p['series']} x=${p['x']}: one evaluation of its attack among ${p['nodes']}`);
        const { id, e } = matching[0]!;
        const x = Number(p['x']);
        const y = Number(p['y']);
        if (f === 'fig3') {
          assert.equal(y, e.robustAccuracy * 100, `${f} ${p['series']} at α=${x} from ${id}`);
          assert.ok(id.includes(`alpha${x}-`), `${id} is not at α=${x}`);
        } else {
          assert.equal(y, (e.asr ?? Number.NaN) * 100, `${f} ${p['series']} ASR from ${id}`);
          if (p['panel'] === 'natural') assert.equal(x, e.naturalAccuracy * 100, `${f} natural accuracy from ${id}`);
        }
        points++;
      }
    }
    db.close();
    console.log(`# ${cells} table cells and ${points} figure points checked against their nodes' stored results`);
    assert.ok(cells >= 30 && points >= 10, `${cells} cells, ${points} points`);
  });

  it('built D_R and D_NR, and a second repro runs nothing', () => {
    for (const node of ['build-dr', 'build-dnr@ddet', 'build-dnr@drand']) {
      const show = cli(dir, ['show', node, '--profile', 'mini']);
      assert.equal(show.code, 0, show.out);
    }
    const again = cli(dir, ['repro', 'all', '--profile', 'mini']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, / 0 ran/);
    assert.ok(existsSync(join(dir, 'reports', 'mini', 'table1.md')));
  });

  it("evaluations that reused an earlier attack's labels give the same bytes in fresh processes (--isolate)", { skip: noMemo }, () => {
    // The persistent workers of the run kept each model's grid labels (ml/attacks/prediction-memo.ts).
    const reused = [...new Set([...run.out.matchAll(/\[(evaluate@[^\]]+)\] \d+ of \d+ grid pairs were known from an earlier attack/g)].map((m) => m[1]!))];
    assert.ok(reused.length > 0, 'no evaluation reused labels, so this check would prove nothing');
    const picked = reused.slice(0, 3);
    const db = new Database(join(dir, 'artifacts', 'lineage.sqlite'), { readonly: true });
    const digests = () =>
      picked.map(
        (id) =>
          (
            db
              .prepare(
                "SELECT o.digest AS digest FROM nodes n JOIN outputs o ON o.node_key = n.key WHERE n.node_id = ? AND o.name = 'result' ORDER BY n.registered_at DESC LIMIT 1",
              )
              .get(id) as { digest: string }
          ).digest,
      );
    const before = digests();
    const fresh = cli(dir, ['repro', ...picked, '--profile', 'mini', '--isolate', '--force', 'evaluate', '--jobs', '1']);
    assert.equal(fresh.code, 0, fresh.out.slice(-3000));
    assert.match(fresh.out, new RegExp(`${picked.length} ran`));
    assert.doesNotMatch(fresh.out, /grid pairs were known/, 'a fresh process knows nothing');
    assert.deepEqual(digests(), before);
    db.close();
  });

  it('adding one alpha trains and evaluates only that branch and redraws Figure 3', () => {
    const dry = cli(dir, ['repro', 'fig3', '--profile', 'mini', '--set', 'q2.alphas=[0, 0.5, 1]', '--dry-run']);
    assert.equal(dry.code, 0, dry.out);
    const toRun = [...dry.out.matchAll(/^\s+to run\s+(\S+)/gm)].map((m) => m[1]!);
    const trains = toRun.filter((id) => id.startsWith('train@'));
    assert.deepEqual(trains.sort(), ['train@q2-resnet18-alpha0.5', 'train@q2-resnet50-alpha0.5', 'train@q2-vgg16-alpha0.5']);
    assert.ok(toRun.includes('figure@fig3'));
    assert.ok(
      toRun.every((id) => id.includes('alpha0.5') || id === 'figure@fig3'),
      toRun.join('\n'),
    );
  });
});
