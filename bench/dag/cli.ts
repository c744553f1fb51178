import { buildCli, main } from '../../engine/cli.ts';
import { project } from './project.ts';

// Not awaited: the compiled CLI is CommonJS (engine/bundle.ts); main reports its own errors.
void main(buildCli(project));
