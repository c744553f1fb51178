/**
 * The world's regime (report/ground-truth.ts `regimeLine`: does standard training rely on the
 * non-robust feature, measured by the probes) beside the synthetic-data banner of every other
 * report. The table and figure nodes do not depend on the probes (so `repro table1` never waits for
 * them); the line is added where reports are published (reports/<profile>/, the HTML page) whenever the
 * ground-truth report of the same profile is up to date.
 */

/** How the ground-truth report starts its regime line (its `regimeLine`). */
export const REGIME_PREFIX = 'World regime (measured):';

/** The regime line of a ground-truth Markdown report, if it has one. */
export function regimeFromGroundTruth(markdown: string): string | undefined {
  for (const line of markdown.split('\n')) if (line.startsWith(`> ${REGIME_PREFIX}`)) return line.slice(2);
  return undefined;
}

/**
 * A report file with the regime line after its synthetic-data banner: in Markdown after the
 * `> **⚠ …**` line, in the text summary after the `!! …` line. Files without a banner (real data,
 * CSV, images) and files that already carry the line come back unchanged.
 */
export function withRegimeLine(name: string, content: string, regime: string): string {
  if (content.includes(REGIME_PREFIX)) return content;
  const lines = content.split('\n');
  if (name.endsWith('.md')) {
    const i = lines.findIndex((l) => l.startsWith('> **⚠'));
    if (i < 0) return content;
    lines.splice(i + 1, 0, '', `> ${regime}`);
    return lines.join('\n');
  }
  if (name.endsWith('.txt')) {
    const i = lines.findIndex((l) => l.startsWith('!! '));
    if (i < 0) return content;
    lines.splice(i + 1, 0, `!! ${regime}`);
    return lines.join('\n');
  }
  return content;
}
