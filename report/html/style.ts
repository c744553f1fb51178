/**
 * The page's stylesheet and its one small script, inlined (the page opens from the file system,
 * with no network). Without the script everything still works through links and :target; the
 * script only adds the provenance panel's focus handling, Escape to close, and the return to the
 * cell that opened it.
 */
export const CSS = `
:root { --fg: #1d2430; --muted: #5b6575; --line: #d7dce3; --bg: #fff; --soft: #f4f6f9; --accent: #2f6db5; --warn: #8a4b00; --warnbg: #fff4e0; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, [tabindex]:focus-visible, summary:focus-visible { outline: 3px solid #f2b134; outline-offset: 2px; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.86em; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 20; }
.skip:focus { left: .5rem; }
header.top { background: #17324f; color: #fff; padding: 1.1rem clamp(1rem, 4vw, 2.5rem) .9rem; }
header.top h1 { margin: 0 0 .2rem; font-size: clamp(1.3rem, 3.5vw, 1.8rem); font-weight: 650; }
header.top p { margin: 0 0 .6rem; color: #c9d6e6; }
header.top a { color: #fff; }
nav.toc ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .35rem; }
nav.toc a { display: inline-block; padding: .25rem .65rem; border-radius: 999px; background: rgba(255,255,255,.12); text-decoration: none; font-size: .9rem; }
nav.toc a:hover { background: rgba(255,255,255,.25); }
main { padding: 0 clamp(.75rem, 4vw, 2.5rem) 4rem; max-width: 96rem; margin: 0 auto; }
section.report, section.block { border-bottom: 1px solid var(--line); padding: 1.2rem 0 1.6rem; }
h2 { font-size: 1.35rem; margin: .2rem 0 .3rem; line-height: 1.3; }
h3 { font-size: 1.1rem; margin: 1rem 0 .4rem; }
h4 { font-size: .98rem; margin: 1rem 0 .35rem; }
article.node h4 { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; margin: .9rem 0 .3rem; }
.meta, .muted { color: var(--muted); }
.meta { margin: 0 0 .6rem; font-size: .9rem; }
.prose blockquote { margin: .6rem 0; padding: .55rem .9rem; background: var(--warnbg); color: var(--warn); border-left: 4px solid #e0a23a; border-radius: 4px; }
.prose blockquote p { margin: 0; }
.prose p { margin: .45rem 0; max-width: 60rem; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-size: .82rem; color: var(--muted); padding: .2rem 0; caption-side: top; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; font-size: .88rem; }
tbody th { text-align: left; font-weight: 500; background: #fafbfc; white-space: nowrap; position: sticky; left: 0; z-index: 1; }
td.num, .md td.a-right { text-align: right; }
table.md, table.data { margin: .4rem 0 .8rem; font-size: .88rem; }
.grids { display: flex; flex-wrap: wrap; gap: .9rem 1.4rem; align-items: flex-start; margin: .6rem 0 1rem; }
.grids .grid-block { flex: 0 1 auto; min-width: 0; max-width: 100%; }
.scroll-cue { margin: 0 0 .2rem; font-size: .8rem; color: var(--accent); font-weight: 600; }
.scroll-cue[hidden] { display: none; }
.why { margin: .25rem 0 0; font-size: .8rem; color: var(--muted); max-width: 36rem; }
table.grid th.corner { text-align: left; color: var(--fg); font-size: .95rem; }
table.grid td.cell { padding: 0; min-width: 5.6rem; text-align: right; }
table.grid td.cell > a, table.grid td.cell > span:first-child { display: block; }
.cell-link, td.cell { color: var(--fg); }
.cell-link { display: block; padding: .3rem .5rem; text-decoration: none; min-height: 2.75rem; }
td.cell:not(:has(a)) { padding: .3rem .5rem; }
.cell-link:hover { box-shadow: inset 0 0 0 2px var(--accent); }
.ours { display: block; font-weight: 700; font-size: 1.02rem; }
.paper, .delta, .source { display: block; font-size: .76rem; color: #39424f; white-space: nowrap; }
.source { color: var(--muted); font-size: .7rem; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; font-size: .82rem; color: var(--muted); margin: .3rem 0; }
.swatch { display: inline-block; width: 1.6rem; height: .9rem; border: 1px solid var(--line); vertical-align: middle; margin-right: .3rem; }
figure.figure { margin: .8rem 0; overflow-x: auto; }
figure.figure svg, figure.figure img { max-width: 100%; height: auto; display: block; }
details.more { margin: .6rem 0; }
details.more > summary { cursor: pointer; color: var(--accent); padding: .3rem 0; }
.node-link code { color: var(--accent); }
pre.yaml { background: var(--soft); padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; margin: .3rem 0; max-height: 26rem; }
.notice { background: var(--warnbg); border-left: 4px solid #e0a23a; padding: .6rem .9rem; margin: 1rem 0; border-radius: 4px; }
ul.plain { list-style: none; padding-left: 0; margin: .2rem 0; }
ul.plain li { padding: .12rem 0; }
ul.tree { margin: .1rem 0; padding-left: 1.1rem; border-left: 1px dotted var(--line); }
ul.tree li { list-style: none; padding: .1rem 0; }
.badge { display: inline-block; font-size: .72rem; font-weight: 600; background: #e4ecf7; color: #1f4f87; border-radius: 4px; padding: .05rem .4rem; vertical-align: middle; }
.digest { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: .4rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code.key { overflow-wrap: anywhere; }
.charts { display: flex; flex-wrap: wrap; gap: .5rem; }
svg.chart { max-width: 100%; height: auto; }
svg.chart .chart-frame { fill: #fbfcfd; stroke: var(--line); }
svg.chart text { font: 10px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
svg.chart .chart-title { font-weight: 600; fill: var(--fg); font-size: 11px; }
#provenance-list, .point-list { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: .8rem; }
article.node { border: 1px solid var(--line); border-radius: 8px; padding: .2rem .9rem .8rem; background: #fff; min-width: 0; }
article.node > header { display: flex; justify-content: space-between; align-items: baseline; gap: .6rem; }
article.node h3 { overflow-wrap: anywhere; }
article.node .close { display: none; white-space: nowrap; }
/* The provenance a link opened: a panel over the page (full screen on a phone). */
html:not(.js) article.node:target, article.node.open {
  position: fixed; top: 0; right: 0; bottom: 0; width: min(46rem, 100vw); overflow-y: auto; z-index: 10;
  border-radius: 0; box-shadow: 0 0 0 100vmax rgba(15, 25, 40, .35), -6px 0 24px rgba(0,0,0,.2); padding-bottom: 3rem;
}
html:not(.js) article.node:target .close, article.node.open .close { display: inline-block; padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; }
article.node.open > header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); z-index: 2; }
table.runs td, table.runs th { font-size: .86rem; }
.status-succeeded { color: #2b6a2e; }
.status-failed, .status-interrupted { color: #a33; font-weight: 600; }
@media (max-width: 40rem) {
  body { font-size: 14px; }
  #provenance-list, .point-list { grid-template-columns: 1fr; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .3rem; }
  table.grid td.cell { min-width: 4.6rem; }
  table.grid th.corner { font-size: .85rem; }
  .cell-link { padding: .25rem .4rem; }
}
@media print { article.node.open { position: static; box-shadow: none; } nav.toc { display: none; } }
`;

/** Opens a node's article as a panel when the address names it; Escape or Close returns to the opener. */
export const SCRIPT = `
(function () {
  document.documentElement.classList.add('js');
  var opener = null, open = null;
  function close(back) {
    if (!open) return;
    open.classList.remove('open');
    open = null;
    history.replaceState(null, '', location.pathname + location.search);
    if (back && opener && document.contains(opener)) opener.focus();
  }
  function show() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (!el || !el.classList.contains('node')) { if (open) { open.classList.remove('open'); open = null; } return; }
    if (open && open !== el) open.classList.remove('open');
    el.classList.add('open');
    open = el;
    el.scrollTop = 0;
    el.focus({ preventScroll: true });
  }
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a');
    if (!a) return;
    if (a.classList.contains('close')) { e.preventDefault(); close(true); return; }
    var h = a.getAttribute('href') || a.getAttribute('xlink:href') || '';
    var target = h.charAt(0) === '#' ? document.getElementById(decodeURIComponent(h.slice(1))) : null;
    if (!target || !target.classList.contains('node')) return;
    // Opened in place: the page stays where the reader was, and Close returns to the link.
    e.preventDefault();
    if (!(open && open.contains(a))) opener = a;
    history.pushState(null, '', h);
    show();
  });
  // A result table wider than its box (a phone) says how many columns are out of sight, and which.
  function cues() {
    document.querySelectorAll('.grid-block').forEach(function (b) {
      var s = b.querySelector('.scroll'), cue = b.querySelector('.scroll-cue');
      if (!s || !cue) return;
      var right = s.getBoundingClientRect().right, names = [];
      s.querySelectorAll('thead th:not(.corner)').forEach(function (th) {
        if (th.getBoundingClientRect().right > right + 1) names.push(th.textContent);
      });
      cue.hidden = names.length === 0;
      if (names.length) cue.textContent = '\u2192 ' + names.length + ' more column' + (names.length === 1 ? '' : 's') + ' (' + names.join(', ') + '): scroll the table sideways';
      if (!s.dataset.cue) { s.dataset.cue = '1'; s.addEventListener('scroll', cues, { passive: true }); }
    });
  }
  window.addEventListener('resize', cues);
  cues();
  window.addEventListener('popstate', show);
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') close(true); });
  window.addEventListener('hashchange', show);
  show();
})();
`;
