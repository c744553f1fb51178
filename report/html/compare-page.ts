/**
 * `compare` as a page in the report's style: the parameters that differ, then one table per
 * report file with A, B and B − A for every cell either side has (missing ones marked, shaded
 * like the report's ours-vs-paper difference).
 */
import { byFile, cellDiff, cellStatus, regimeLines, type Comparison } from '../compare.ts';
import { esc, fmtDelta, fmtNumber } from './escape.ts';
import { anchorOf } from './model.ts';
import { pageShell } from './page.ts';

const value = (v: number | null | undefined) => (v === undefined ? '<span class="missing">missing</span>' : v === null ? '—' : esc(fmtNumber(v)));

function shade(d: number | null): string {
  if (d === null || d === 0) return '';
  const a = Math.min(1, Math.abs(d) / 30) * 0.55;
  return ` style="background-color: rgba(${d > 0 ? '47, 109, 181' : '217, 113, 28'}, ${a.toFixed(3)})"`;
}

export function renderComparePage(c: Comparison): string {
  const files = [...byFile(c.cells)];
  const params = c.params.length
    ? `<div class="scroll" tabindex="0" role="region" aria-label="parameters that differ"><table class="data params"><thead><tr><th scope="col">where</th><th scope="col">parameter</th><th scope="col">A</th><th scope="col">B</th><th scope="col">nodes</th></tr></thead><tbody>${c.params
        .map(
          (p) =>
            `<tr><td>${esc(p.scope === 'profile' ? 'profile' : `${p.scope} nodes`)}</td><td><code>${esc(p.path)}</code></td><td><code>${esc(p.a)}</code></td><td><code>${esc(p.b)}</code></td><td class="num">${p.nodes || ''}</td></tr>`,
        )
        .join('')}</tbody></table></div>`
    : '<p>None: both sides have the same parameters.</p>';
  const only = [
    ...regimeLines(c).map(([side, line]) => `<p class="notice">World regime of ${side} (measured): ${esc(line)}</p>`),
    ...c.notes.map((n) => `<p class="notice">${esc(n)}</p>`),
    c.reportsOnlyA.length ? `<p>Reports only in A: ${c.reportsOnlyA.map((r) => `<code>${esc(r)}</code>`).join(', ')}</p>` : '',
    c.reportsOnlyB.length ? `<p>Reports only in B: ${c.reportsOnlyB.map((r) => `<code>${esc(r)}</code>`).join(', ')}</p>` : '',
  ].join('');
  const sections = files.map(([file, cells]) => {
    const id = anchorOf('f', file);
    const changed = cells.filter((x) => (cellDiff(x) ?? 0) !== 0).length;
    const oneSide = cells.filter((x) => cellStatus(x) !== 'both').length;
    const rows = cells.map((x) => {
      const d = cellDiff(x);
      return `<tr data-status="${cellStatus(x)}"><th scope="row">${esc(x.cell)}</th><td>${esc(x.field)}</td><td class="num">${value(x.a)}</td><td class="num">${value(x.b)}</td><td class="num"${shade(d)}>${d === null ? '' : esc(fmtDelta(d))}</td></tr>`;
    });
    return (
      `<section class="block" id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(file)}</h2><p class="meta">${cells.length} cells · ${changed} differ · ${oneSide} on one side only</p>` +
      `<div class="scroll" tabindex="0" role="region" aria-label="${esc(file)}"><table class="data compare" data-file="${esc(file)}"><thead><tr><th scope="col">cell</th><th scope="col">field</th><th scope="col">A</th><th scope="col">B</th><th scope="col">B − A</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
    );
  });
  const body = [
    `<section class="block" id="sides"><p><strong>A</strong> = ${esc(c.a)}<br><strong>B</strong> = ${esc(c.b)}</p></section>`,
    `<section class="block" id="params" aria-labelledby="params-h"><h2 id="params-h">Parameters that differ</h2>${params}${only}</section>`,
    ...sections,
  ].join('\n');
  return pageShell({
    title: 'robustfeat — compare',
    subtitle: `${files.length} report files · ${c.cells.length} cells · ${c.params.length} parameter differences`,
    nav: [{ href: '#params', label: 'Parameters' }, ...files.map(([file]) => ({ href: `#${anchorOf('f', file)}`, label: file.split(': ')[1] ?? file }))],
    body,
  });
}
