import { Command, CommanderError, Help, type Option } from 'commander';
import type { Project } from '../core/project.ts';
import { UserError } from '../core/result.ts';
import { collect } from './args.ts';
import type { CliOptions, VerbContext } from './context.ts';
import { addDagCommand } from './dag.ts';
import { addGcCommand } from './gc.ts';
import { addLineageCommand } from './lineage.ts';
import { projectHelp, type GlobalOpts } from './load.ts';
import { addLogCommand } from './log.ts';
import { addReproCommand } from './repro.ts';
import { addShowCommand } from './show.ts';
import { addStatusCommand } from './status.ts';
import { addVerifyCommand } from './verify.ts';

/**
 * The command line shared by every project built on the engine (`tsx pipeline.ts <verb>`): the
 * global options here, one file per verb beside it. A project adds verbs of its own to the
 * returned program and runs it with `main` (its entry, e.g. experiments/cli.ts, is the only one).
 */

export type { CliOptions, ReproOutcome, VerbContext } from './context.ts';
export { loadProject, projectHelp, type GlobalOpts, type Loaded } from './load.ts';
export { positiveInt, runRef, shellWord, withoutFolders } from './args.ts';

export function buildCli(project: Project, options: CliOptions = {}): Command {
  const program = new Command();
  program
    .name('pipeline.ts')
    .description(`${project.name}: a content-addressed pipeline (see README.md)`)
    .option('--root <dir>', 'folder holding params.yaml and artifacts/', process.cwd())
    .option('--db <path>', "the lineage database (default artifacts/lineage.sqlite; on a cluster, a path on the driver's local disk)")
    .option('--profile <name>', 'profile of params.yaml to use (default: its default_profile)')
    .option('--set <key=value>', 'override one key of the profile for this run (repeatable)', collect, [])
    // A usage error is one line and exit 2, as the project's own errors are (main); subcommands
    // added below inherit both settings.
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })
    // A repeatable option starts empty: "(default: [])" tells a reader nothing. Verbs added later
    // (the project's too) inherit this.
    .configureHelp({ optionDescription: (o) => new Help().optionDescription(emptyDefault(o) ? withoutDefault(o) : o) });

  const v: VerbContext = {
    project,
    options,
    globals: () => program.opts<GlobalOpts>(),
    out: (s: string) => process.stdout.write(`${s}\n`),
  };
  for (const add of [addReproCommand, addStatusCommand, addDagCommand, addShowCommand, addLineageCommand, addLogCommand, addGcCommand, addVerifyCommand]) {
    add(program, v);
  }
  program.addHelpText('after', () => `\n${projectHelp(project, v.globals())}`);
  return program;
}

const emptyDefault = (o: Option): boolean => Array.isArray(o.defaultValue) && o.defaultValue.length === 0;
const withoutDefault = (o: Option): Option => Object.assign(Object.create(o) as Option, { defaultValue: undefined });

/**
 * A reader that went away (`repro … | head`) ends the command the way Ctrl-C does: a run in
 * progress is interrupted cleanly (nothing half-registered), anything else exits quietly, instead
 * of an unhandled EPIPE with a stack trace.
 */
function endOnClosedPipe(stream: NodeJS.WriteStream): void {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (closed) return;
    closed = true;
    if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT');
    else process.exit(process.exitCode ?? 0);
  });
}

/** Runs the CLI: user errors print one clear message and exit 2; anything else shows its stack. */
export async function main(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  endOnClosedPipe(process.stdout);
  endOnClosedPipe(process.stderr);
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed its message (or the help or version asked for) already.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
    } else if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      throw e;
    }
  }
}
