import { buildCli, main } from '../../engine/cli/program.ts';
import { project } from './project.ts';

// Not awaited: the compiled CLI is CommonJS (engine/fast-start/bundle.ts); main reports its own errors.
void main(buildCli(project));
