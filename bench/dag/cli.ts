import { buildCli, main } from '../../engine/cli.ts';
import { project } from './project.ts';

await main(buildCli(project));
