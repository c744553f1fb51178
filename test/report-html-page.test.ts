/**
 * The HTML report's renderer and `compare` on hand-made inputs (no workspace, no browser): CSV
 * parsing, the result grid against its CSV, in-page links (cells, inline code, figure points) all
 * resolving, the page standing alone, and compare's cells and differences computed by hand.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compareSides, comparisonCsv, comparisonMarkdown, comparisonText, type CompareSide } from '../report/compare.ts';
import { renderComparePage } from '../report/html/compare-page.ts';
import { csvObjects, csvShape, parseCsv } from '../report/html/csv.ts';
import { nodeAnchor, type PageModel, type ProvenanceNode, type ReportFile } from '../report/html/model.ts';
import { loadMarkdownRenderer } from '../report/html/markdown.ts';
import { renderReportPage } from '../report/html/page.ts';
import { pageFingerprint, recordedFingerprint } from '../report/html/write.ts';

before(loadMarkdownRenderer);

const key = (c: string) => c.repeat(64);

function node(k: string, id: string, stage: string, inputs: Array<[string, string, string]> = [], params: unknown = {}): ProvenanceNode {
  return {
    key: k,
    nodeId: id,
    stage,
    stageVersion: 1,
    codeDigest: key('c'),
    params,
    registeredAt: '2026-01-01T00:00:00Z',
    inputs: inputs.map(([input, fromKey, fromNodeId]) => ({ input, fromKey, fromNodeId, fromOutput: 'out', digest: key('d') })),
    outputs: [{ name: 'out', kind: 'file', digest: key('e'), size: 10 }],
    execution: {
      id: 1,
      runId: 1,
      status: 'succeeded',
      startedAt: '2026-01-01T00:00:00Z',
      durationS: 2.5,
      host: 'box',
      environment: { backend: { name: 'wasm', threads: 2 } },
      metrics: { acc: 0.5 },
    },
    series:
      stage === 'train'
        ? {
            epoch: [
              { step: 0, values: { loss: 2, accuracy: 0.2 } },
              { step: 1, values: { loss: 1, accuracy: 0.6 } },
            ],
          }
        : {},
  };
}

const TABLE_CSV = [
  'table,profile,synthetic,row,column,ours,paper,source,nodes',
  't,p,true,none,A/x,12.5,90,"run, lr 0.1",ev@1 tr@1',
  't,p,true,none,A/y,,80,,',
  't,p,true,rot,A/x,50,40,,ev@2',
  't,p,true,rot,A/y,7.125,,,ev@2',
].join('\n');
const POINTS_CSV = 'figure,profile,synthetic,panel,series,x,y,nodes\nf,p,true,steps,rot,2,50,ev@1\nf,p,true,steps,rot,4,25,ev@2\n';
const SVG =
  '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><a xlink:href="#point-0"><path d="M0,0"/></a><a xlink:href="#point-1"><path d="M1,1"/></a><text>training iterations</text></svg>';
const MD =
  '# Figure F\n\n> **synthetic**\n\n![Figure F](f.png)\n\nFrom `ev@1` and `unknown@x`. <script>alert(1)</script>\n\n## More\n\n| a | b |\n|---|---|\n| 1 | 2 |\n';

function model(): PageModel {
  const nodes = new Map<string, ProvenanceNode>([
    [key('1'), node(key('1'), 'data', 'synthetic-dataset')],
    [key('2'), node(key('2'), 'tr@1', 'train', [['data', key('1'), 'data']])],
    [
      key('3'),
      node(key('3'), 'ev@1', 'evaluate', [
        ['model', key('2'), 'tr@1'],
        ['data', key('1'), 'data'],
      ]),
    ],
    [key('4'), node(key('4'), 'ev@2', 'evaluate', [['model', key('2'), 'tr@1']])],
    [
      key('5'),
      node(key('5'), 'table@t', 'table', [
        ['evals', key('3'), 'ev@1'],
        ['evals[1]', key('4'), 'ev@2'],
      ]),
    ],
    [
      key('6'),
      node(key('6'), 'figure@f', 'figure', [
        ['evals', key('3'), 'ev@1'],
        ['evals[1]', key('4'), 'ev@2'],
      ]),
    ],
  ]);
  const files = (list: Array<[string, string]>): ReportFile[] => list.map(([name, content]) => ({ name, content }));
  return {
    title: 'test',
    profile: { name: 'p', params: { a: 1 }, overrides: ['a=1'] },
    generatedAt: 'now',
    reports: [
      {
        id: 'table@t',
        key: key('5'),
        stage: 'table',
        group: 't',
        files: files([
          ['t.csv', TABLE_CSV],
          ['t.md', '# Table T\n\nintro\n\n## Runs\n\n| x |\n|---|\n| `ev@2` |\n'],
        ]),
      },
      {
        id: 'figure@f',
        key: key('6'),
        stage: 'figure',
        group: 'f',
        files: files([
          ['f.csv', POINTS_CSV],
          ['f.md', MD],
          ['f.svg', SVG],
          ['f.txt', 'terminal text'],
        ]),
      },
    ],
    missing: ['table@other'],
    nodes,
    runs: [
      {
        id: 1,
        startedAt: 's',
        endedAt: 'e',
        command: 'repro all',
        profile: 'p',
        status: 'succeeded',
        host: 'box',
        executions: [{ nodeId: 'ev@1', key: key('3'), status: 'succeeded', durationS: 2.5, host: 'box', backend: 'wasm', error: undefined }],
      },
    ],
  };
}

const ids = (html: string) => new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
const hrefs = (html: string) => [...html.matchAll(/\s(?:xlink:)?href="#([^"]*)"/g)].map((m) => m[1]!);

describe('HTML report page', () => {
  it('parses quoted CSV fields, CRLF, and refuses ragged lines', () => {
    const csv = parseCsv('a,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n1,,3\n');
    assert.deepEqual(csv.header, ['a', 'b', 'c']);
    assert.deepEqual(csv.rows, [
      ['x, y', 'say "hi"', 'two\nlines'],
      ['1', '', '3'],
    ]);
    assert.throws(() => parseCsv('a,b\n1,2,3\n'), /line 2: 3 fields/);
    assert.equal(csvShape(parseCsv(TABLE_CSV)), 'cells');
    assert.equal(csvShape(parseCsv(POINTS_CSV)), 'points');
    assert.equal(csvShape(parseCsv('k,v\n1,2\n')), 'plain');
  });

  it('renders every CSV cell at its row and column, with ours, the paper and the difference', () => {
    const html = renderReportPage(model());
    const cells = [...html.matchAll(/<td class="cell"[^>]*data-row="([^"]+)" data-column="([^"]+)">(.*?)<\/td>/g)];
    const lines = csvObjects(parseCsv(TABLE_CSV));
    assert.equal(cells.length, lines.length);
    for (const l of lines) {
      const c = cells.find((m) => m[1] === l['row'] && m[2] === l['column']);
      assert.ok(c, `${l['row']} ${l['column']}`);
      const ours = l['ours'] ? Number(l['ours']).toFixed(2) : '—';
      assert.match(c[3]!, new RegExp(`<span class="ours">${ours}</span>`));
      if (l['ours'] && l['paper'])
        assert.match(
          c[3]!,
          new RegExp(`Δ ${Number(l['ours']) - Number(l['paper']) >= 0 ? '\\+' : '\u2212'}${Math.abs(Number(l['ours']) - Number(l['paper'])).toFixed(2)}`),
        );
    }
    // The cell of ev@1 opens ev@1's provenance; the columns A/x, A/y form one block under "A".
    const first = cells.find((m) => m[1] === 'none' && m[2] === 'A/x')!;
    assert.match(first[3]!, new RegExp(`href="#${nodeAnchor(key('3'))}"`));
    assert.match(html, /<th scope="col" class="corner">A<\/th><th scope="col" data-column="A\/x">x<\/th>/);
  });

  it('links every cell, inline node id and figure point to an element of the page', () => {
    const html = renderReportPage(model());
    const all = ids(html);
    const links = hrefs(html).filter((h) => h !== '');
    assert.ok(links.length > 10);
    for (const h of links) assert.ok(all.has(h), `#${h} has no target`);
    // Figure: inlined in place of the PNG reference, its points pointed at point articles.
    assert.doesNotMatch(html, /<\?xml/);
    assert.doesNotMatch(html, /#point-\d/);
    assert.match(html, /<article class="node point" id="r-figure_f-pt-f-1"[\s\S]*?ev@2/);
    assert.match(html, /<a class="node-link" href="#k-3{16}"><code>ev@1<\/code><\/a>/);
    assert.match(html, /<code>unknown@x<\/code>/);
    // Standing alone: raw HTML in Markdown is text, nothing refers outside the page.
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    // Provenance: backend, duration, training curve chart, upstream chain, what is missing.
    assert.match(html, /wasm 2 threads/);
    assert.match(html, /<svg class="chart"[^>]*aria-label="training loss"/);
    assert.match(html, /table@other/);
    assert.doesNotMatch(html, /terminal text/);
  });
});

describe('page fingerprint', () => {
  it('ignores the assembly time, follows every other part of the model, and is read back from the page', () => {
    const m = model();
    const fp = pageFingerprint(m);
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(pageFingerprint({ ...m, generatedAt: 'later' }), fp);
    assert.notEqual(pageFingerprint({ ...m, missing: ['x'] }), fp);
    assert.notEqual(pageFingerprint({ ...m, profile: { ...m.profile, params: { a: 2 } } }), fp);
    const nodes = new Map(m.nodes);
    nodes.set(key('1'), { ...nodes.get(key('1'))!, registeredAt: 'another time' });
    assert.notEqual(pageFingerprint({ ...m, nodes }), fp, 'a value inside the nodes map');
    const png = (b: number): PageModel => ({ ...m, reports: [{ ...m.reports[0]!, files: [{ name: 'x.png', content: new Uint8Array([1, 2, b]) }] }] });
    assert.notEqual(pageFingerprint(png(3)), pageFingerprint(png(4)), 'the bytes of a binary file');
    const dir = mkdtempSync(join(tmpdir(), 'rf-page-'));
    try {
      const file = join(dir, 'index.html');
      assert.equal(recordedFingerprint(file), undefined, 'no page');
      writeFileSync(file, renderReportPage(m));
      assert.equal(recordedFingerprint(file), undefined, 'a page rendered without one');
      writeFileSync(file, renderReportPage(m, fp));
      assert.equal(recordedFingerprint(file), fp);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('compare', () => {
  const files = (csv: string): ReportFile[] => [{ name: 't.csv', content: csv }];
  const side = (label: string, csv: string, params: unknown, evalParams: unknown): CompareSide => ({
    label,
    profileParams: params,
    reports: new Map([['table@t', files(csv)]]),
    nodes: new Map([[key('9'), node(key('9'), 'ev@1', 'evaluate', [], evalParams)]]),
  });
  const head = 'table,profile,synthetic,row,column,ours,paper,source,nodes';

  it('lists parameters that differ, every cell with B − A, and keeps cells of one side', () => {
    const a = side('A', `${head}\nt,p,true,r,c1,10,90,,ev@1\nt,p,true,r,c2,,80,,\nt,p,true,r,c3,5,,,ev@1\n`, { q: { n: 1 }, same: 2 }, { seed: 0 });
    const b = side('B', `${head}\nt,p,true,r,c1,12.5,90,,ev@1\nt,p,true,r,c2,,80,,\nt,p,true,s,c1,7,,,ev@1\n`, { q: { n: 2 }, same: 2 }, { seed: 1 });
    const c = compareSides(a, b);
    assert.deepEqual(
      c.params.map((p) => [p.scope, p.path, p.a, p.b, p.nodes]),
      [
        ['profile', 'q.n', '1', '2', 0],
        ['evaluate', 'seed', '0', '1', 1],
      ],
    );
    const rows = csvObjects(parseCsv(comparisonCsv(c)));
    const at = (cell: string) => rows.find((r) => r['cell'] === cell);
    assert.deepEqual([at('r / c1')!['a'], at('r / c1')!['b'], at('r / c1')!['diff'], at('r / c1')!['status']], ['10', '12.5', '2.5', 'both']);
    assert.equal(at('r / c2'), undefined, 'a cell neither side has a number for');
    assert.deepEqual([at('r / c3')!['a'], at('r / c3')!['b'], at('r / c3')!['status']], ['5', '', 'only-a']);
    assert.deepEqual([at('s / c1')!['a'], at('s / c1')!['b'], at('s / c1')!['status']], ['', '7', 'only-b']);
  });

  it("states each side's world regime, read from its ground-truth report", () => {
    const truth = (regime: string): ReportFile[] => [
      { name: 'ground-truth.md', content: `# Ground truth\n\n> **⚠ SYNTHETIC DATA**\n\n> World regime (measured): ${regime}\n` },
    ];
    const a = side('A', `${head}\nt,p,true,r,c1,10,90,,ev@1\n`, {}, {});
    const b = side('B', `${head}\nt,p,true,r,c1,12,90,,ev@1\n`, {}, {});
    const withTruth = (s: CompareSide, regime: string): CompareSide => ({ ...s, reports: new Map([...s.reports, ['ground-truth', truth(regime)]]) });
    const c = compareSides(withTruth(a, 'non-robust reliance present — 80 %'), withTruth(b, 'non-robust reliance absent — 2 %'));
    assert.deepEqual(c.regimes, { a: 'non-robust reliance present — 80 %', b: 'non-robust reliance absent — 2 %' });
    assert.match(
      comparisonText(c),
      /World regime of A \(measured\): non-robust reliance present — 80 %\n[\s\S]*World regime of B \(measured\): non-robust reliance absent/,
    );
    assert.match(comparisonMarkdown(c), /> World regime of B \(measured\): non-robust reliance absent — 2 %/);
    assert.match(renderComparePage(c), /World regime of A \(measured\): non-robust reliance present/);
    assert.deepEqual(compareSides(a, b).regimes, {}, 'no ground truth, no regime');
  });
});
