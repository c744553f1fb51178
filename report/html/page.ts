/**
 * The HTML report: one self-contained page (inline CSS, one inline script, inline SVG; no network)
 * with every report node that is up to date, the profile's effective parameters, the recent runs
 * (what ran, how long, on which backend and host) and the provenance of every node behind the
 * numbers. Pure: it renders a PageModel (collect.ts fills one from a workspace).
 */
import YAML from 'yaml';
import { esc, fmtSeconds } from './escape.ts';
import { nodeAnchor, type PageModel, type RunView } from './model.ts';
import { nodeRef, provenanceArticle, usersOf } from './provenance.ts';
import { emptyReasons, reportSection } from './sections.ts';
import { sharedIntroKeys, sharedIntroSection } from './shared-intro.ts';
import { CSS, SCRIPT } from './style.ts';

/** The name of the head's meta element that holds the page's fingerprint (write.ts). */
export const PAGE_FINGERPRINT = 'robustfeat-page';

export interface Shell {
  readonly title: string;
  /** Recorded in the head, where write.ts finds it in the first bytes of the file. */
  readonly fingerprint?: string;
  readonly subtitle: string;
  readonly nav: ReadonlyArray<{ readonly href: string; readonly label: string }>;
  readonly body: string;
}

/** The document around any page of the report's style (the report, `compare`). */
export function pageShell(s: Shell): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    ...(s.fingerprint !== undefined ? [`<meta name="${PAGE_FINGERPRINT}" content="${esc(s.fingerprint)}">`] : []),
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(s.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<a class="skip" href="#main">Skip to the results</a>',
    `<header class="top" id="top"><h1>${esc(s.title)}</h1><p>${s.subtitle}</p>`,
    `<nav class="toc" aria-label="Contents"><ul>${s.nav.map((n) => `<li><a href="${esc(n.href)}">${esc(n.label)}</a></li>`).join('')}</ul></nav></header>`,
    `<main id="main">${s.body}</main>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function runsSection(m: PageModel): string {
  if (m.runs.length === 0) return '<p class="muted">No run of this profile has executed a node yet.</p>';
  const table = (r: RunView) => {
    const rows = r.executions.map(
      (e) =>
        `<tr><td>${m.nodes.has(e.key) ? nodeRef(m.nodes, e.key, e.nodeId) : `<code>${esc(e.nodeId)}</code>`}</td>` +
        `<td class="status-${esc(e.status)}">${esc(e.status)}${e.error ? ` <span class="muted">${esc(e.error.slice(0, 160))}</span>` : ''}</td>` +
        `<td class="num">${esc(fmtSeconds(e.durationS))}</td><td>${esc(e.backend ?? '—')}</td><td>${esc(e.host ?? '—')}</td></tr>`,
    );
    const total = r.executions.reduce((s, e) => s + (e.durationS ?? 0), 0);
    return (
      `<div class="scroll" tabindex="0" role="region" aria-label="executions of run ${r.id}"><table class="data runs"><caption>run ${r.id}: ${r.executions.length} node executions, ${esc(fmtSeconds(total))} of node time</caption>` +
      `<thead><tr><th scope="col">node</th><th scope="col">status</th><th scope="col">took</th><th scope="col">backend</th><th scope="col">host</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
    );
  };
  const head = (r: RunView) =>
    `run ${r.id} · <code>${esc(r.command)}</code> · ${esc(r.status)} · ${esc(r.startedAt)}${r.endedAt ? ` → ${esc(r.endedAt)}` : ''} · host ${esc(r.host ?? '—')}`;
  const [latest, ...older] = m.runs;
  return [
    `<h3>Latest: ${head(latest!)}</h3>`,
    table(latest!),
    ...older.map((r) => `<details class="more"><summary>${head(r)}</summary>${table(r)}</details>`),
  ].join('\n');
}

export interface PageLinks {
  /** The index of every profile's results, relative to the page (reports/index.html). */
  readonly allProfiles?: string;
}

export function renderReportPage(m: PageModel, fingerprint?: string, links: PageLinks = {}): string {
  const shared = sharedIntroKeys(m.reports);
  const why = emptyReasons(m.profile.name, m.profile.params);
  const sections = m.reports.map((r) => reportSection(r, m.nodes, { shared, why }));
  const users = usersOf(m.nodes);
  const articles = [...m.nodes.values()]
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId) || a.key.localeCompare(b.key))
    .map((n) => provenanceArticle(n, m.nodes, users));
  const missing = m.missing.length
    ? `<div class="notice" role="note"><strong>Not computed yet</strong> under the current code and parameters (run <code>repro</code>): ${m.missing.map((id) => `<code>${esc(id)}</code>`).join(', ')}.</div>`
    : '';
  const overrides = m.profile.overrides.length
    ? `<p>Overrides for this run: ${m.profile.overrides.map((o) => `<code>--set ${esc(o)}</code>`).join(' ')}</p>`
    : '';
  const body = [
    missing,
    sharedIntroSection(m.reports, m.nodes, shared),
    m.reports.length === 0
      ? `<p class="notice">No report node of profile <code>${esc(m.profile.name)}</code> is up to date yet: run <code>npx tsx pipeline.ts repro all --profile ${esc(m.profile.name)}</code>.</p>`
      : '',
    ...sections.map((s) => s.html),
    `<section class="block" id="profile" aria-labelledby="profile-h"><h2 id="profile-h">Profile <code>${esc(m.profile.name)}</code>: effective parameters</h2>${overrides}` +
      `<pre class="yaml">${esc(YAML.stringify(m.profile.params, { lineWidth: 100 }).trimEnd())}</pre></section>`,
    `<section class="block" id="runs" aria-labelledby="runs-h"><h2 id="runs-h">Runs: what ran, how long, where</h2>${runsSection(m)}</section>`,
    `<section class="block" id="provenance" aria-labelledby="provenance-h"><h2 id="provenance-h">Provenance of every node behind these numbers</h2>` +
      `<p class="muted">${m.nodes.size} nodes, from the lineage database. Each value above links to the node it came from; each node links to its inputs, back to the data.</p>` +
      `<div id="provenance-list">${articles.join('\n')}</div>` +
      (sections.some((s) => s.points.length) ? `<h3>Figure points</h3><div class="point-list">${sections.flatMap((s) => s.points).join('\n')}</div>` : '') +
      '</section>',
  ].join('\n');
  const nav = [
    ...(shared.size > 0 ? [{ href: '#about', label: 'About' }] : []),
    ...sections.map((s) => ({ href: `#${s.anchor}`, label: s.title.split(/ — |: /)[0]! })),
    { href: '#profile', label: 'Profile' },
    { href: '#runs', label: 'Runs' },
    { href: '#provenance', label: 'Provenance' },
    ...(links.allProfiles !== undefined ? [{ href: links.allProfiles, label: 'All profiles' }] : []),
  ];
  const subtitle = `profile <code>${esc(m.profile.name)}</code> · ${m.reports.length} reports · ${m.nodes.size} nodes · assembled ${esc(m.generatedAt)} from <code>artifacts/</code>`;
  return pageShell({ title: m.title, subtitle, nav, body, ...(fingerprint !== undefined ? { fingerprint } : {}) });
}

export { nodeAnchor };
