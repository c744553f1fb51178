/**
 * `npm run setup`: the system half of the first command. Installs what the native oneDNN backend
 * needs (g++, libdnnl-dev, Node-API headers) with apt-get, as root or through `sudo -n`, then
 * builds native/ and checks it loads. It only ever installs: `apt-get install --no-upgrade`, so a
 * package already present (another user's oneDNN) is left exactly as it is, and a machine that
 * has everything changes nothing. Where it cannot install, it prints the exact command to run.
 * Usage: npx tsx native/setup.ts [--dry-run]
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export interface CommandResult {
  readonly exitCode: number;
  readonly output: string;
}

/** Runs one program with an argument array (never a shell string). */
export type Runner = (file: string, args: readonly string[]) => Promise<CommandResult>;

export const execaRunner: Runner = async (file, args) => {
  const r = await execa(file, [...args], { reject: false, all: true, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? (r.failed ? 127 : 0), output: r.all ?? '' };
};

export interface SetupOptions {
  readonly run: Runner;
  readonly exists: (path: string) => boolean;
  readonly isRoot: boolean;
  readonly log: (line: string) => void;
  readonly dryRun?: boolean;
  readonly cxx?: string;
}

export interface SetupResult {
  /** Debian packages found missing (empty when everything was there). */
  readonly missing: readonly string[];
  /** The install command run (undefined when none was needed or possible). */
  readonly installed: readonly string[] | undefined;
  readonly built: boolean;
  readonly ok: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const DNNL_HEADERS = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'];
const NODE_HEADERS = [
  join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h'),
  '/usr/include/node/node_api.h',
  '/usr/local/include/node/node_api.h',
];

/** Which Debian packages the native build lacks here. */
export async function missingPackages(o: Pick<SetupOptions, 'run' | 'exists' | 'cxx'>): Promise<string[]> {
  const missing: string[] = [];
  if ((await o.run(o.cxx ?? 'g++', ['--version'])).exitCode !== 0) missing.push('g++');
  if (!DNNL_HEADERS.some(o.exists)) missing.push('libdnnl-dev');
  if (!NODE_HEADERS.some(o.exists)) missing.push('libnode-dev');
  return missing;
}

export async function setup(o: SetupOptions): Promise<SetupResult> {
  const missing = await missingPackages(o);
  let installed: string[] | undefined;
  if (missing.length > 0) {
    const apt = ['apt-get', 'install', '-y', '--no-install-recommends', '--no-upgrade', ...missing];
    o.log(`setup: the native backend needs ${missing.join(', ')}`);
    if ((await o.run('apt-get', ['--version'])).exitCode !== 0) {
      o.log(
        `setup: no apt-get here; install ${missing.join(', ')} (a C++17 compiler, oneDNN 2.x headers, Node-API headers) with your package manager, then run \`npm run setup\` again`,
      );
      return { missing, installed: undefined, built: false, ok: false };
    }
    const sudo = !o.isRoot && (await o.run('sudo', ['-n', 'true'])).exitCode === 0;
    if (!o.isRoot && !sudo) {
      o.log(`setup: not root and sudo needs a password; run this, then \`npm run setup\` again:\n  sudo apt-get update && sudo ${apt.join(' ')}`);
      return { missing, installed: undefined, built: false, ok: false };
    }
    const prefix = sudo ? ['sudo', '-n'] : [];
    installed = [...prefix, ...apt];
    if (o.dryRun) {
      o.log(`setup: would run: ${[...prefix, 'apt-get', 'update'].join(' ')} && ${installed.join(' ')}`);
      return { missing, installed, built: false, ok: true };
    }
    for (const cmd of [[...prefix, 'apt-get', 'update'], installed]) {
      o.log(`setup: ${cmd.join(' ')}`);
      const r = await o.run(cmd[0]!, cmd.slice(1));
      if (r.exitCode !== 0) {
        o.log(`setup: \`${cmd.join(' ')}\` failed (exit ${r.exitCode}):\n${r.output.split('\n').slice(-15).join('\n')}`);
        return { missing, installed, built: false, ok: false };
      }
    }
    const still = await missingPackages(o);
    if (still.length > 0) {
      o.log(`setup: still missing after the install: ${still.join(', ')}`);
      return { missing, installed, built: false, ok: false };
    }
  } else {
    o.log('setup: g++, oneDNN and Node-API headers are present; nothing to install');
  }
  if (o.dryRun) return { missing, installed, built: false, ok: true };
  // build.mjs is a no-op when the addon is newer than its sources.
  const build = await o.run(process.execPath, [join(here, 'build.mjs'), '--strict']);
  o.log(build.output.trimEnd());
  if (build.exitCode !== 0) return { missing, installed, built: false, ok: false };
  const check = await o.run(process.execPath, ['-e', `require(${JSON.stringify(join(here, 'build', 'robustfeat_native.node'))}).dnnlVersion()`]);
  if (check.exitCode !== 0) {
    o.log(`setup: the native backend was built but does not load:\n${check.output}`);
    return { missing, installed, built: true, ok: false };
  }
  o.log('setup: native backend ready (`auto` will use it)');
  return { missing, installed, built: true, ok: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await setup({
    run: execaRunner,
    exists: existsSync,
    isRoot: process.getuid?.() === 0,
    log: (l) => process.stdout.write(`${l}\n`),
    dryRun: process.argv.includes('--dry-run'),
    ...(process.env.CXX ? { cxx: process.env.CXX } : {}),
  });
  process.exitCode = r.ok ? 0 : 1;
}
