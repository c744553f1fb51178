import { InvalidArgumentError } from 'commander';
import { UserError } from '../core/result.ts';

/** Parsers and helpers for command-line words shared by the verbs. */

export const collect = (v: string, prev: string[]): string[] => [...prev, v];

export const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** A word of a command line as a POSIX shell would need it written. */
export const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

/** argv without `--root`/`--db` and their values. */
export function withoutFolders(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root' || argv[i] === '--db') i++;
    else if (!/^--(root|db)=/.test(argv[i]!)) out.push(argv[i]!);
  }
  return out;
}

/** `12` or `run:12`: a run of `log`. */
export function runRef(text: string): number {
  const m = /^(?:run:)?(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new UserError(`'${text}' is not a run id: give the number 'log' lists (12 or run:12)`);
  return Number(m[1]);
}
