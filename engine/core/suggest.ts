/**
 * "Did you mean": the candidates closest to a mistyped name by edit distance (case folded, so a
 * case slip costs nothing), for targets, node ids, profiles and parameter keys.
 */

/** Levenshtein distance between a and b. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `most` candidates within a third of the word's length (at least 2 edits), nearest first. */
export function closest(word: string, candidates: Iterable<string>, most = 3): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  const scored: Array<[string, number]> = [];
  for (const c of new Set(candidates)) {
    const d = editDistance(w, c.toLowerCase());
    if (d <= limit) scored.push([c, d]);
  }
  return scored
    .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]))
    .slice(0, most)
    .map(([c]) => c);
}

/** `; did you mean 'a' or 'b'?`, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = closest(word, candidates);
  if (near.length === 0) return '';
  return `; did you mean ${near.map((n) => `'${n}'`).join(near.length === 2 ? ' or ' : ', ')}?`;
}
