/**
 * A node's provenance as an article of the page: key, stage and code, parameters, inputs and
 * outputs (by digest), where, when and on which backend it ran, its metrics, its training curve,
 * the upstream chain back to the data and what uses it, every node a link to its own article.
 */
import YAML from 'yaml';
import { lineChart } from './chart.ts';
import { esc, fmtSeconds } from './escape.ts';
import { backendOf, nodeAnchor, type ProvenanceNode, type SeriesPoint } from './model.ts';
import { fmtBytes } from '../../engine/cli/format.ts';

type Nodes = ReadonlyMap<string, ProvenanceNode>;

const short = (digest: string) => digest.slice(0, 12);

export function nodeRef(nodes: Nodes, key: string, nodeId: string): string {
  return nodes.has(key)
    ? `<a class="node-link" href="#${nodeAnchor(key)}"><code>${esc(nodeId)}</code></a>`
    : `<code>${esc(nodeId)}</code> <span class="muted">(no longer registered)</span>`;
}

function yamlBlock(value: unknown): string {
  return `<pre class="yaml">${esc(YAML.stringify(value, { lineWidth: 100 }).trimEnd())}</pre>`;
}

/** Loss and accuracy per epoch (the train stage's `epoch` series), charted and listed. */
function curves(series: readonly SeriesPoint[]): string {
  const num = (p: SeriesPoint, k: string) => (typeof p.values[k] === 'number' ? (p.values[k] as number) : undefined);
  const pick = (k: string, scale = 1) => series.flatMap((p) => (num(p, k) === undefined ? [] : [[p.step + 1, num(p, k)! * scale] as const]));
  const loss = pick('loss');
  const acc = pick('accuracy', 100);
  const charts = [
    loss.length ? lineChart([{ name: 'loss', points: loss }], { title: 'training loss', xLabel: 'epoch', yLabel: 'loss' }) : '',
    acc.length ? lineChart([{ name: 'accuracy', points: acc }], { title: 'training accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)' }) : '',
  ].join('');
  const keys = [...new Set(series.flatMap((p) => Object.keys(p.values)))];
  const rows = series
    .map(
      (p) =>
        `<tr><td class="num">${p.step + 1}</td>${keys
          .map((k) => {
            const v = p.values[k];
            return `<td class="num">${typeof v === 'number' ? esc(Number.isInteger(v) ? String(v) : v.toPrecision(4)) : esc(String(v ?? ''))}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return `<div class="charts">${charts}</div><div class="scroll"><table class="data"><thead><tr><th scope="col">epoch</th>${keys.map((k) => `<th scope="col">${esc(k)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The upstream tree, each node once (later mentions say "see above"). */
function chain(nodes: Nodes, root: ProvenanceNode): string {
  const seen = new Set<string>();
  const walk = (n: ProvenanceNode): string => {
    const items = n.inputs.map((e) => {
      const up = nodes.get(e.fromKey);
      const head = `<span class="muted">${esc(e.input)} ←</span> ${nodeRef(nodes, e.fromKey, e.fromNodeId)}`;
      if (!up) return `<li>${head}</li>`;
      if (seen.has(up.key)) return `<li>${head} <span class="muted">(see above)</span></li>`;
      seen.add(up.key);
      const sub = up.inputs.length ? walk(up) : '';
      return `<li>${head} <span class="muted">${esc(up.stage)}</span>${sub}</li>`;
    });
    return items.length ? `<ul class="tree">${items.join('')}</ul>` : '';
  };
  return walk(root) || '<p class="muted">none: this node reads no artifact (a source).</p>';
}

export function provenanceArticle(n: ProvenanceNode, nodes: Nodes, usedBy: ReadonlyMap<string, readonly ProvenanceNode[]>): string {
  const id = nodeAnchor(n.key);
  const e = n.execution;
  const facts: Array<[string, string]> = [
    ['key', `<code class="key">${esc(n.key)}</code>`],
    ['stage', `<code>${esc(n.stage)}</code> v${n.stageVersion}, code <code>${esc(short(n.codeDigest))}</code>`],
    ['registered', esc(n.registeredAt)],
  ];
  if (e) {
    facts.push(['ran', `${esc(e.startedAt)} · ${esc(fmtSeconds(e.durationS))} · run ${e.runId} (execution ${e.id})`]);
    facts.push(['host', esc(e.host ?? '—')]);
    facts.push(['backend', esc(backendOf(e.environment) ?? 'not recorded (a stage without tensors)')]);
  }
  const inputs = n.inputs.map(
    (i) =>
      `<li><span class="muted">${esc(i.input)} ←</span> ${nodeRef(nodes, i.fromKey, i.fromNodeId)}<span class="muted">:${esc(i.fromOutput)}</span> <code class="digest">${esc(short(i.digest))}</code></li>`,
  );
  const outputs = n.outputs.map(
    (o) => `<li><code>${esc(o.name)}</code> ${esc(o.kind)} <code class="digest">${esc(short(o.digest))}</code> ${esc(fmtBytes(o.size))}</li>`,
  );
  const users = usedBy.get(n.key) ?? [];
  const body = [
    `<article class="node" id="${id}" tabindex="-1" aria-labelledby="${id}-h">`,
    `<header><h3 id="${id}-h"><span class="badge">${esc(n.stage)}</span> ${esc(n.nodeId)}</h3><a class="close" href="#provenance" aria-label="Close provenance of ${esc(n.nodeId)}">Close ✕</a></header>`,
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`,
    `<h4>Parameters</h4>${yamlBlock(n.params)}`,
    e?.metrics !== undefined && e.metrics !== null ? `<h4>Metrics</h4>${yamlBlock(e.metrics)}` : '',
    ...Object.entries(n.series).map(([name, pts]) => `<h4>${name === 'epoch' ? 'Training curve' : `Series ${esc(name)}`}</h4>${curves(pts)}`),
    // The model a result came from: its training curve here, not one click away.
    ...n.inputs.flatMap((i) => {
      const up = nodes.get(i.fromKey);
      const pts = up?.series['epoch'];
      return up && pts ? [`<h4>Training curve of ${esc(i.input)}</h4><p>${nodeRef(nodes, up.key, up.nodeId)}</p>${curves(pts)}`] : [];
    }),
    `<h4>Inputs</h4>${inputs.length ? `<ul class="plain">${inputs.join('')}</ul>` : '<p class="muted">none</p>'}`,
    `<h4>Outputs</h4><ul class="plain">${outputs.join('')}</ul>`,
    `<h4>Upstream chain</h4>${chain(nodes, n)}`,
    users.length ? `<h4>Used by</h4><ul class="plain">${users.map((u) => `<li>${nodeRef(nodes, u.key, u.nodeId)}</li>`).join('')}</ul>` : '',
    '</article>',
  ];
  return body.filter(Boolean).join('\n');
}

/** Reverse edges within the page: who reads each node's outputs. */
export function usersOf(nodes: Nodes): Map<string, ProvenanceNode[]> {
  const out = new Map<string, ProvenanceNode[]>();
  for (const n of nodes.values()) {
    for (const e of n.inputs) {
      const list = out.get(e.fromKey) ?? [];
      if (!list.includes(n)) list.push(n);
      out.set(e.fromKey, list);
    }
  }
  return out;
}
