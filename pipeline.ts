/**
 * `npx tsx pipeline.ts …`: the robustfeat command line (experiments/cli.ts). Where `npm run build`
 * (run by `npm run setup`) compiled it from exactly the sources here, the compiled copy runs, in
 * this process: that skips loading some 150 modules through tsx, about a second of every command.
 * Otherwise, or with RF_COMPILED_CLI=0, the sources run. Either way the same code computes the same
 * keys: node keys hash the sources, never the bundle.
 */
import { fileURLToPath } from 'node:url';
import { launchSpecPath, runCompiledIfFresh } from './engine/fast-start/launcher.ts';

const compiled = launchSpecPath(fileURLToPath(new URL('./dist', import.meta.url)), 'pipeline');
if (!(await runCompiledIfFresh(compiled, (s) => import(s), import.meta.resolve))) await import('./experiments/cli.ts');
