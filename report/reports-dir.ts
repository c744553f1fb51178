/**
 * Where published results live: one folder per profile (reports/<profile>/: tables, figures and
 * index.html), so a run of one profile never replaces another's results, and reports/index.html
 * and reports/index.md, which list every profile that has a folder (rebuilt from the folders).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../base/atomic-write.ts';
import { esc } from './html/escape.ts';

/** The top folder of published results under a workspace root. */
export const reportsRoot = (root: string): string => join(root, 'reports');

/**
 * A profile's folder name: the name itself where it is a plain file name, else the name with
 * every other character replaced (a profile is a YAML key and could hold `/`).
 */
export function profileFolderName(profile: string): string {
  const plain = profile.replace(/[^\w.+-]/g, '_');
  return plain === '' || /^\.+$/.test(plain) ? `_${plain}` : plain;
}

export const profileReportsDir = (root: string, profile: string): string => join(reportsRoot(root), profileFolderName(profile));

/** A path as the terminal shows it: relative to the working folder where it is inside it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/') ? rel : path;
}

export interface ProfileFolder {
  readonly profile: string;
  /** Whether reports/<profile>/index.html exists. */
  readonly page: boolean;
  /** The page's last write (ISO), if there is a page. */
  readonly pageWritten?: string;
  /** The Markdown reports of the folder with their titles (first level-1 heading), by file name. */
  readonly reports: ReadonlyArray<{ readonly file: string; readonly title: string }>;
}

const titleOf = (md: string, file: string): string => /^# (.+)$/m.exec(md)?.[1]?.trim() ?? file;

/** Every folder under reports/ that a `repro` or `report` of some profile wrote (a page or reports). */
export function profileFolders(root: string): ProfileFolder[] {
  const top = reportsRoot(root);
  if (!existsSync(top)) return [];
  const out: ProfileFolder[] = [];
  for (const name of readdirSync(top).sort()) {
    const dir = join(top, name);
    if (!statSync(dir).isDirectory()) continue;
    const page = existsSync(join(dir, 'index.html'));
    const reports = readdirSync(dir)
      .filter((f) => f.endsWith('.md') && f !== 'index.md')
      .sort()
      .map((file) => ({ file, title: titleOf(readFileSync(join(dir, file), 'utf8'), file) }));
    // Another tool's folder (compare's output) has neither.
    if (!page && reports.length === 0) continue;
    out.push({ profile: name, page, ...(page ? { pageWritten: statSync(join(dir, 'index.html')).mtime.toISOString() } : {}), reports });
  }
  return out;
}

export function reportsIndexMarkdown(folders: readonly ProfileFolder[]): string {
  const out = [
    '# Results by profile',
    '',
    'Each profile of params.yaml that has results has a folder of its own; a run of one profile leaves the others as they were.',
    '',
  ];
  if (folders.length === 0) out.push('No profile has results yet: run `npx tsx pipeline.ts repro all --profile <name>`.', '');
  for (const f of folders) {
    out.push(`## Profile \`${f.profile}\``, '');
    if (f.page) out.push(`- [the HTML report](${f.profile}/index.html) (with the provenance of every number), written ${f.pageWritten}`);
    if (f.reports.length === 0) out.push(`- no report is up to date yet: run \`npx tsx pipeline.ts repro all --profile ${f.profile}\``);
    for (const r of f.reports) out.push(`- [${r.title}](${f.profile}/${r.file})`);
    out.push('');
  }
  return out.join('\n');
}

export function reportsIndexHtml(folders: readonly ProfileFolder[]): string {
  const body = folders.map((f) => {
    const page = f.page ? `<p><a href="${esc(f.profile)}/index.html">The HTML report</a> · written ${esc(f.pageWritten ?? '')}</p>` : '';
    const list =
      f.reports.length === 0
        ? `<p>No report is up to date yet: run <code>npx tsx pipeline.ts repro all --profile ${esc(f.profile)}</code>.</p>`
        : `<ul>${f.reports.map((r) => `<li><a href="${esc(f.profile)}/${esc(r.file)}">${esc(r.title)}</a></li>`).join('')}</ul>`;
    return `<section><h2>Profile <code>${esc(f.profile)}</code> · ${f.reports.length} report${f.reports.length === 1 ? '' : 's'}</h2>${page}${list}</section>`;
  });
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Results by profile</title>',
    '<style>body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:50rem;padding:1rem;color:#1d2430}code{font-size:.9em}h2{font-size:1.2rem;margin:1.4rem 0 .3rem}a{color:#2f6db5}</style></head>',
    '<body><h1>Results by profile</h1>',
    '<p>Each profile of params.yaml that has results has a folder of its own; a run of one profile leaves the others as they were.</p>',
    folders.length === 0 ? '<p>No profile has results yet: run <code>npx tsx pipeline.ts repro all --profile &lt;name&gt;</code>.</p>' : '',
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

/** Rewrites reports/index.html and reports/index.md from the profile folders; returns the HTML's path. */
export function writeReportsIndex(root: string): string {
  const folders = profileFolders(root);
  const html = join(reportsRoot(root), 'index.html');
  writeFileAtomic(join(reportsRoot(root), 'index.md'), reportsIndexMarkdown(folders));
  writeFileAtomic(html, reportsIndexHtml(folders));
  return html;
}
