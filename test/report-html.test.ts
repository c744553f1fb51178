/**
 * The HTML report and `compare` on a miniature (Table 3 and Figure 1 of a `mini` profile at tiny
 * sizes, through the real CLI), checked in a real headless Chromium (playwright-core): every result
 * grid has the CSV's rows, columns and numbers, figures are non-empty SVG with axis labels, a
 * cell's and a figure point's provenance open and every in-page link resolves, the console stays
 * clean, the page fits a phone's width; screenshots are saved. Then `compare` of two miniature
 * profiles is checked against both sides' CSVs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { csvNumber, csvObjects, csvShape, parseCsv } from '../report/html/csv.ts';
import { CHROMIUM_ARGS, findChromium } from './helpers/chromium.ts';
import { chromiumSkip } from './helpers/services.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const TRAIN = { batchSize: 32, epochs: 1, checkpointEvery: 3 };

/** Table 3 (STN on D only) and Figure 1 (two attacks over three snapshots): about 15 small nodes. */
const HTML = {
  extends: 'demo',
  description: 'html report miniature',
  data: { synthetic: { seed: 1, trainCount: 128, testCount: 48 } },
  // Not built for these targets, but the profile must be valid as a whole (counts within |D|).
  robust: { train: TRAIN, adversarial: { iterations: 2 }, build: { steps: 3, batchSize: 64, count: 64 }, nonRobust: { iterations: 2, count: 24 } },
  evaluation: { count: 16, batchSize: 64 },
  q1: {
    train: { ...TRAIN, epochs: 2, lr: { kind: 'milestones', lr: 0.05, milestones: [5], factor: 0.1 } },
    snapshots: { denseEvery: 2, denseEpochs: 1, sparseEveryEpochs: 1 },
    fig1: ['rot30', 'grid775'],
  },
  q3: { datasets: ['D'], augmentations: ['std*'], train: TRAIN, attacks: ['none', 'rot30', 'grid775'] },
};
/** B: another test subset (every evaluation reruns), and Figure 1 without grid775. */
const HTML_B = { extends: 'html', evaluation: { subsetSeed: 1 }, q1: { fig1: ['rot30'] } };

const noChromium = chromiumSkip();
const chromium = findChromium();

function cli(dir: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'pipeline.ts'), '--root', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, RF_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const csvOf = (path: string) => csvObjects(parseCsv(readFileSync(path, 'utf8')));

describe('HTML report and compare (miniature through the CLI, in Chromium)', { timeout: 600_000 }, () => {
  let dir: string;
  let a: string;
  let b: string;
  let runA: { code: number | null; out: string };
  let runB: { code: number | null; out: string };
  let pageA: Buffer;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rf-html-'));
    const params = parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8')) as { profiles: Record<string, unknown> };
    params.profiles['html'] = HTML;
    params.profiles['html-b'] = HTML_B;
    writeFileSync(join(dir, 'params.yaml'), stringify(params));
    runA = cli(dir, ['repro', 'table3', 'fig1', '--profile', 'html', '--jobs', '2']);
    a = join(dir, 'reports', 'html');
    // A's results as the first run left them, to check that B's run leaves them alone.
    pageA = existsSync(join(a, 'index.html')) ? readFileSync(join(a, 'index.html')) : Buffer.alloc(0);
    runB = cli(dir, ['repro', 'table3', 'fig1', '--profile', 'html-b', '--jobs', '2']);
    b = join(dir, 'reports', 'html-b');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('repro writes reports/<profile>/index.html, self-contained', () => {
    assert.equal(runA.code, 0, runA.out.slice(-3000));
    assert.equal(runB.code, 0, runB.out.slice(-3000));
    const line = /html report of profile html: .*html\/index\.html \((\d+) reports.*/.exec(runA.out);
    assert.ok(line && Number(line[1]) >= 2, runA.out.slice(-2000));
    assert.doesNotMatch(line[0], /not up to date: .*(table@table3|figure@fig1)\b/);
    const html = readFileSync(join(a, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /<(script|img|link|iframe)[^>]+(src|href)="(https?:)?\/\//i, 'the page loads something over the network');
    assert.doesNotMatch(html, /url\(\s*['"]?https?:/i);
    assert.match(html, /SYNTHETIC DATA/);
  });

  it('the page shows the CSVs, opens provenance, and fits a phone', { skip: noChromium }, async () => {
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium!, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`);
      });
      await page.goto(pathToFileURL(join(a, 'index.html')).href);
      // Kept after the test (the workspace is removed): $RF_SCREENSHOTS, else a fixed temp folder.
      const shots = process.env['RF_SCREENSHOTS'] ?? join(tmpdir(), 'robustfeat-screenshots');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'report-desktop.png') });

      // Every result table (a CSV with row, column, ours): one cell per line, at its row and
      // column, showing the CSV's numbers.
      const tables = readdirSync(a).filter((f) => f.endsWith('.csv') && csvShape(parseCsv(readFileSync(join(a, f), 'utf8'))) === 'cells');
      assert.ok(tables.includes('table3.csv'), tables.join(' '));
      for (const name of tables) {
        const csv = csvOf(join(a, name));
        const cells = await page.$$eval(`table.grid[data-csv="${name}"] td.cell`, (tds) =>
          tds.map((td) => ({
            row: td.getAttribute('data-row'),
            column: td.getAttribute('data-column'),
            ours: td.querySelector('.ours')?.textContent,
            paper: td.querySelector('.paper')?.textContent,
          })),
        );
        assert.equal(cells.length, csv.length, `cells in the page vs lines of ${name}`);
        const rows = new Set(csv.map((l) => l['row']));
        const columns = new Set(csv.map((l) => l['column']));
        assert.equal(cells.length, rows.size * columns.size);
        const bodyRows = await page.$$eval(`table.grid[data-csv="${name}"]`, (ts) => ts.map((t) => t.querySelectorAll('tbody tr').length));
        for (const n of bodyRows) assert.equal(n, rows.size, `rows of each column block of ${name}`);
        for (const l of csv) {
          const c = cells.find((x) => x.row === l['row'] && x.column === l['column']);
          assert.ok(c, `${name}: no cell for ${l['row']} / ${l['column']}`);
          const ours = csvNumber(l['ours']);
          assert.equal(c.ours, ours === null ? '—' : ours.toFixed(2), `${name}: ${l['row']} / ${l['column']}`);
          if ('paper' in l) assert.equal(c.paper, `paper ${l['paper'] || '—'}`);
        }
      }

      // Every figure renders: non-empty SVG with titled axes.
      const figures = await page.$$eval('figure.figure svg', (svgs) =>
        svgs.map((svg) => ({
          marks: svg.querySelectorAll('path').length,
          axes: [...svg.querySelectorAll('.role-axis-title text')].map((t) => t.textContent ?? ''),
        })),
      );
      assert.ok(figures.length >= 1);
      for (const f of figures) {
        assert.ok(f.marks > 5, 'a figure without marks');
        assert.ok(f.axes.length >= 2 && f.axes.every((t) => t.trim() !== ''), `axis titles: ${f.axes.join(' | ')}`);
      }

      // Figure 1: inline SVG with its axis titles and points; its data table matches fig1.csv.
      const fig = await page.$eval('#r-figure_fig1 figure svg', (svg) => ({
        text: svg.textContent ?? '',
        marks: svg.querySelectorAll('path').length,
        links: svg.querySelectorAll('a').length,
      }));
      assert.match(fig.text, /training iterations/);
      assert.match(fig.text, /attack success rate/);
      assert.ok(fig.marks > 5, 'figure has no marks');
      const points = csvOf(join(a, 'fig1.csv'));
      assert.ok(fig.links >= points.length, 'every plotted point is a link');
      const ys = await page.$$eval('table.data[data-csv="fig1.csv"] tbody tr', (trs) => trs.map((tr) => tr.children[6]!.textContent));
      assert.deepEqual(
        ys,
        points.map((p) => p['y']),
      );

      // Every in-page link resolves.
      const broken = await page.$$eval('a', (as) =>
        as
          .map((x) => x.getAttribute('href') ?? x.getAttribute('xlink:href') ?? '')
          .filter((h) => h.startsWith('#') && h.length > 1 && !as[0]!.ownerDocument.getElementById(decodeURIComponent(h.slice(1)))),
      );
      assert.deepEqual(broken, []);

      // A cell's provenance opens in place, names its node and links upstream; Escape closes it.
      const cell = page.locator('table.grid[data-csv="table3.csv"] a.cell-link').first();
      const target = (await cell.getAttribute('href'))!.slice(1);
      await cell.click();
      const panel = page.locator(`article.node#${target}`);
      assert.equal(await panel.evaluate((el) => el.classList.contains('open')), true);
      const box = (await panel.boundingBox())!;
      assert.ok(box.width > 300 && box.x + box.width <= 1281, 'the panel is on screen');
      const text = await panel.innerText();
      assert.match(text, /evaluate@q3-stn/);
      assert.match(text, /backend/i);
      assert.match(text, /Training curve/i, 'the model’s training curve is in the panel');
      assert.match(await panel.locator('svg.chart').first().innerHTML(), /epoch/);
      await page.screenshot({ path: join(shots, 'report-panel.png') });
      const up = panel.locator('ul.tree a.node-link').first();
      const upTarget = (await up.getAttribute('href'))!.slice(1);
      await up.click();
      assert.equal(await page.locator(`article.node#${upTarget}`).evaluate((el) => el.classList.contains('open')), true);
      await page.keyboard.press('Escape');
      assert.equal(await page.locator('article.node.open').count(), 0);

      // A figure point opens its own provenance.
      await page.locator('#r-figure_fig1 figure svg a').last().click();
      assert.match(await page.locator('article.node.open').innerText(), /evaluate@q1-resnet34-step/);
      await page.keyboard.press('Escape');

      // Keyboard: Tab reaches a cell link; Enter opens its provenance.
      await cell.focus();
      await page.keyboard.press('Enter');
      assert.equal(await page.locator(`article.node#${target}`).evaluate((el) => el.classList.contains('open')), true);
      await page.keyboard.press('Escape');
      assert.equal(await page.$eval('html', (el) => el.ownerDocument.activeElement?.classList.contains('cell-link')), true, 'focus returns to the cell');

      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('#r-table_table3').scrollIntoViewIfNeeded();
      assert.ok((await page.$eval('html', (el) => el.scrollWidth)) <= 390, 'the page is wider than a phone');
      await page.screenshot({ path: join(shots, 'report-phone.png'), fullPage: false });

      // On a phone a result table wider than the screen names the columns out of sight, above it;
      // scrolled to its end, the cue goes.
      const blocks = page.locator('#r-table_table3 .grid-block');
      let overflowing = 0;
      for (let i = 0; i < (await blocks.count()); i++) {
        const block = blocks.nth(i);
        const hidden = await block.evaluate((b) => {
          const right = b.querySelector('.scroll')!.getBoundingClientRect().right;
          return [...b.querySelectorAll('thead th:not(.corner)')].filter((th) => th.getBoundingClientRect().right > right + 1).map((th) => th.textContent);
        });
        const cue = block.locator('.scroll-cue');
        if (hidden.length === 0) {
          assert.equal(await cue.isVisible(), false);
          continue;
        }
        overflowing++;
        assert.equal(await cue.isVisible(), true, `no cue above a table with ${hidden.join(', ')} out of sight`);
        assert.match(await cue.innerText(), new RegExp(`${hidden.length} more columns? \\(${hidden.map((h) => h!.replace(/[*]/g, '\\*')).join(', ')}\\)`));
        await block.locator('.scroll').evaluate((el) => el.scrollTo({ left: el.scrollWidth }));
        await page.waitForFunction((el) => (el as { hidden?: boolean } | null)?.hidden === true, await cue.elementHandle());
      }
      assert.ok(overflowing > 0, 'no result table is wider than a phone: the cue is untested');
      await page.setViewportSize({ width: 1280, height: 900 });
      assert.equal(await page.locator('.scroll-cue:visible').count(), 0, 'a cue on a wide screen');

      // The banner and the profile's notes once, above the reports, not in each section.
      assert.equal(await page.locator('#about blockquote', { hasText: 'SYNTHETIC DATA' }).count(), 1);
      assert.equal(await page.locator('section.report blockquote', { hasText: 'SYNTHETIC DATA' }).count(), 0);
      assert.equal(await page.locator('#main li', { hasText: /^Images used:/ }).count(), 1);

      // A grid column with no value at all says why, in its block: ResNet-34 is not in the profile.
      const empties = await page.$$eval('table.grid', (ts) =>
        ts.map((t) => {
          const heads = [...t.querySelectorAll('thead th:not(.corner)')].map((th) => th.textContent ?? '');
          const rows = [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td .ours')].map((o) => o.textContent));
          return {
            block: t.querySelector('thead th.corner')?.textContent ?? '',
            empty: heads.filter((_, j) => rows.every((r) => r[j] === '—')),
            all: heads.length,
            why: t.closest('.grid-block')?.querySelector('.why')?.textContent ?? '',
          };
        }),
      );
      assert.ok(empties.some((e) => e.block === 'ResNet-34' && e.empty.length === e.all));
      for (const e of empties) {
        if (e.empty.length === 0) assert.equal(e.why, '', `${e.block}: a reason without an empty column`);
        else if (e.empty.length === e.all) assert.match(e.why, e.block === 'ResNet-34' ? /profile html does not train a ResNet-34/ : /^No values: /);
        else assert.ok(e.why.startsWith(`${e.empty.join(', ')}: no values: no node of profile html computes`), `${e.block}: ${e.why}`);
      }
      assert.deepEqual(errors, []);
      console.log(`# screenshots: ${shots} (report-desktop.png, report-panel.png, report-phone.png)`);
    } finally {
      await browser.close();
    }
  });

  it('compare of two profiles: parameters first, every cell with B − A, missing ones kept', async () => {
    const out = join(dir, 'cmp');
    const r = cli(dir, ['compare', 'html', 'html-b', '--out', out]);
    assert.equal(r.code, 0, r.out.slice(-3000));
    const paramsAt = r.out.indexOf('Parameters that differ');
    assert.ok(paramsAt >= 0 && paramsAt < r.out.indexOf('table3.csv'), 'parameters come first');
    assert.match(r.out, /profile: evaluation\.subsetSeed: 0 → 1/);
    assert.match(r.out, /profile: q1\.fig1: \["rot30","grid775"\] → \["rot30"\]/);
    assert.match(r.out, /evaluate nodes: subsetSeed: 0 → 1/);
    const cmp = csvOf(join(out, 'compare.csv'));
    const find = (report: string, cell: string, field: string) => cmp.find((l) => l['report'] === report && l['cell'] === cell && l['field'] === field);
    const tA = csvOf(join(a, 'table3.csv'));
    const tB = csvOf(join(b, 'table3.csv'));
    let checked = 0;
    for (const la of tA) {
      const lb = tB.find((x) => x['row'] === la['row'] && x['column'] === la['column'])!;
      const va = csvNumber(la['ours']);
      const vb = csvNumber(lb['ours']);
      const line = find('table@table3', `${la['row']} / ${la['column']}`, 'ours');
      if (va === null && vb === null) {
        assert.equal(line, undefined);
        continue;
      }
      assert.ok(line, `compare.csv lacks ${la['row']} / ${la['column']}`);
      assert.equal(csvNumber(line['a']), va);
      assert.equal(csvNumber(line['b']), vb);
      assert.ok(Math.abs(csvNumber(line['diff'])! - (vb! - va!)) < 1e-9);
      checked++;
    }
    assert.ok(checked >= 3, 'too few table cells compared');
    // grid775 was dropped from B's Figure 1: its points are listed as only in A, with A's values.
    const fA = csvOf(join(a, 'fig1.csv'));
    const gone = fA.filter((p) => p['series'] === 'grid775' && p['panel'] === 'steps');
    assert.ok(gone.length > 0);
    for (const p of gone) {
      const line = find('figure@fig1', `steps / grid775 / x=${p['x']}`, 'y');
      assert.ok(line, `point steps/grid775/x=${p['x']} dropped`);
      assert.equal(line['status'], 'only-a');
      assert.equal(csvNumber(line['a']), Number(p['y']));
      assert.equal(line['b'], '');
    }
    assert.ok(existsSync(join(out, 'compare.md')) && existsSync(join(out, 'compare.html')));
    assert.match(readFileSync(join(out, 'compare.md'), 'utf8'), /## Parameters that differ/);
  });

  it('compare with a profile that has no results fits 100 columns: one-sided cells counted, -v lists them', () => {
    const out = join(dir, 'cmp-demo');
    const r = cli(dir, ['compare', 'html', 'demo', '--out', out]);
    assert.equal(r.code, 0, r.out.slice(-3000));
    const lines = r.out.trimEnd().split('\n');
    const wide = lines.filter((l) => [...l].length > 100);
    assert.deepEqual(wide, [], 'lines wider than 100 columns');
    assert.match(r.out, /Parameters that differ:/);
    assert.doesNotMatch(r.out, / missing\s*$/m, 'one-sided cells are listed');
    const oneSided = csvOf(join(out, 'compare.csv')).filter((l) => l['status'] === 'only-a');
    assert.ok(oneSided.length >= 10, `${oneSided.length} cells only in A`);
    const counted = [...r.out.matchAll(/^ {2}(\d+) only in A: not listed/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(counted, oneSided.length);
    const all = cli(dir, ['compare', 'html', 'demo', '--out', out, '-v']);
    assert.equal(all.code, 0, all.out.slice(-3000));
    assert.equal([...all.out.matchAll(/ missing\s*$/gm)].length, oneSided.length);
  });

  it('compare of two past runs by their log ids', () => {
    const log = cli(dir, ['log']);
    const ids = [...log.out.matchAll(/^run (\d+)/gm)].map((m) => m[1]!);
    assert.ok(ids.length >= 2, log.out);
    const r = cli(dir, ['compare', ids[ids.length - 1]!, ids[ids.length - 2]!, '--out', join(dir, 'cmp-runs')]);
    assert.equal(r.code, 0, r.out.slice(-3000));
    assert.match(r.out, /A = run \d+ \(html: repro table3 fig1/);
    assert.match(r.out, /evaluate nodes: subsetSeed: 0 → 1/);
    const bad = cli(dir, ['compare', '999', ids[0]!]);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /no run 999/);
  });
  it("each profile has its own folder: another profile's run leaves a page as it was", () => {
    for (const [side, table] of [
      [a, 'table3'],
      [b, 'table3'],
    ] as const) {
      assert.ok(existsSync(join(side, 'index.html')), `${side}/index.html`);
      assert.ok(existsSync(join(side, `${table}.md`)) && existsSync(join(side, `${table}.csv`)), `${side}: ${readdirSync(side).join(' ')}`);
    }
    assert.ok(readFileSync(join(a, 'index.html')).equals(pageA), "profile html's page changed when html-b ran");
    assert.match(readFileSync(join(a, 'index.html'), 'utf8'), /profile <code>html<\/code>/);
    assert.match(readFileSync(join(b, 'index.html'), 'utf8'), /profile <code>html-b<\/code>/);
    assert.match(runB.out, /every profile's results: .*reports\/index\.html/);
    // The top index lists both, linking each profile's page and reports.
    const index = readFileSync(join(dir, 'reports', 'index.html'), 'utf8');
    for (const p of ['html', 'html-b']) {
      assert.match(index, new RegExp(`href="${p}/index\\.html"`));
      assert.match(index, new RegExp(`href="${p}/table3\\.md"`));
    }
    assert.match(readFileSync(join(dir, 'reports', 'index.md'), 'utf8'), /\[.*Table 3.*\]\(html-b\/table3\.md\)/);
  });

  it('a no-op repro leaves the page as it was; `report` of a profile without results says how to get them', () => {
    const page = join(b, 'index.html');
    const was = readFileSync(page);
    const again = cli(dir, ['repro', 'table3', 'fig1', '--profile', 'html-b']);
    assert.equal(again.code, 0, again.out.slice(-3000));
    assert.match(again.out, /repro \(html-b\): \d+ cached, 0 ran/);
    assert.match(again.out, /unchanged since it was assembled/);
    assert.ok(readFileSync(page).equals(was), 'the page bytes are the same');
    const other = cli(dir, ['report', '--profile', 'html']);
    assert.equal(other.code, 0, other.out.slice(-3000));
    assert.match(other.out, /html report of profile html: .*reports\/html\/index\.html \(\d+ reports/);
    const empty = cli(dir, ['report', '--profile', 'demo']);
    assert.equal(empty.code, 0, empty.out.slice(-3000));
    assert.match(empty.out, /html report of profile demo: .*reports\/demo\/index\.html \(0 reports/);
    assert.match(readFileSync(join(dir, 'reports', 'demo', 'index.html'), 'utf8'), /run <code>npx tsx pipeline\.ts repro all --profile demo<\/code>/);
    assert.match(readFileSync(join(dir, 'reports', 'index.md'), 'utf8'), /## Profile `demo`\n\n- \[the HTML report\][^\n]*\n- no report is up to date yet/);
    assert.ok(readFileSync(join(a, 'index.html')).equals(pageA), "profile html's page changed");
  });

  it('agreement with a copy of the root: identical, then one evaluation rerun on the cpu backend stays within one image', () => {
    const copy = `${dir}-copy`;
    cpSync(dir, copy, { recursive: true });
    try {
      const same = cli(dir, ['agreement', copy, '--profile', 'html']);
      assert.equal(same.code, 0, same.out.slice(-3000));
      const counted = /(\d+) nodes up to date on both sides: (\d+) identical, 0 within tolerance, 0 outside/.exec(same.out);
      assert.ok(counted && Number(counted[1]) >= 4 && counted[1] === counted[2], same.out);
      const node = 'evaluate@q3-stn-resnet18-d-stdstar-lr0.05-rot30';
      const rerun = cli(copy, ['repro', node, '--profile', 'html', '--force', node, '--backend', 'cpu']);
      assert.equal(rerun.code, 0, rerun.out.slice(-3000));
      assert.match(rerun.out, /backend: cpu/);
      const after = cli(dir, ['agreement', copy, node, '--profile', 'html']);
      assert.equal(after.code, 0, after.out.slice(-3000));
      assert.match(after.out, /1 nodes up to date on both sides: .* 0 outside/);
      assert.doesNotMatch(after.out, /\(retrained\)/, 'the rerun read the same model bytes');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
