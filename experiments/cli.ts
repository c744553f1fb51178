/**
 * The robustfeat command line (started by pipeline.ts, or compiled into dist/pipeline.mjs): the
 * engine's verbs (repro, status, dag, show, lineage, log, gc, verify) on the experiments of
 * experiments/project.ts, plus `preview` for datasets and a global `--backend`. After `repro`,
 * every report node it brought up to date is copied to reports/<profile>/ and tables are printed.
 */
import { Option } from 'commander';
import { buildCli, main, positiveInt } from '../engine/cli/program.ts';
import { project } from './project.ts';
import { BACKEND_CHOICES, BACKEND_ENV } from '../ml/backend/choice.ts';
import { describeArtifact, previewDataset } from '../report/artifact-views.ts';
import { publishReports } from '../report/publish.ts';
import { addReportCommand, pageAfterRepro } from '../report/html/commands.ts';
import { addCompareCommand } from '../report/compare-command.ts';
import { addAgreementCommand } from '../report/agreement-command.ts';

const program = buildCli(project, {
  describeArtifact,
  afterRepro: async (r) => {
    await publishReports(r);
    await pageAfterRepro(project, r);
  },
});
addReportCommand(program, project);
addCompareCommand(program, project);
addAgreementCommand(program, project);
program.addOption(new Option('--backend <name>', 'tensor backend for the nodes this run executes (recorded, not part of node keys)').choices(BACKEND_CHOICES));
program.hook('preAction', (cmd) => {
  const backend = cmd.opts<{ backend?: string }>().backend;
  if (backend) process.env[BACKEND_ENV] = backend;
});

program
  .command('preview')
  .description('summarise a dataset artifact and write a PNG grid of examples per class')
  .argument('<dataset>', 'a node id (e.g. synthetic-dataset, build-dr), an artifact digest prefix, or a dataset file')
  .option('--output <name>', 'which output of the node (default: train, dataset or the first file)')
  .option('--out <file>', 'PNG to write (default reports/preview-<name>.png)')
  .option('--per-class <n>', 'examples per class', positiveInt, 10)
  .action(async (target: string, o: { output?: string; out?: string; perClass: number }) => {
    const { root, db } = program.opts<{ root: string; db?: string }>();
    process.stdout.write(`${await previewDataset(root, target, { ...o, ...(db !== undefined ? { db } : {}) })}\n`);
  });

// Not awaited: the compiled CLI is CommonJS (engine/fast-start/bundle.ts); main reports its own errors.
void main(program);
