import YAML from 'yaml';

/** Number and text formatting shared by the inspection verbs. */

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function indentYaml(value: unknown, pad: string): string {
  const text = YAML.stringify(value, { lineWidth: 100 }).trimEnd();
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
