import type { StageResult } from '../../engine/core/stage.ts';
import { fetchCifar10, resolveCifar10Source } from '../../ml/data/cifar10.ts';
import type { FetchCifar10Context } from '../fetch-cifar10.ts';

export async function runFetchCifar10(ctx: FetchCifar10Context): Promise<StageResult> {
  const source = resolveCifar10Source(ctx.params.source ?? undefined);
  ctx.log(`source: ${source.kind} ${'url' in source ? source.url : source.path}`);
  const r = await fetchCifar10({
    source,
    downloadDir: ctx.scratchDir,
    trainPath: ctx.outputs.train,
    testPath: ctx.outputs.test,
    onProgress: ctx.progress,
    ...(ctx.params.partial ? { partial: true } : {}),
  });
  if (ctx.params.partial) ctx.log(`partial copy: ${r.train.count} train and ${r.test.count} test images read`);
  return { metrics: { train: r.train.count, test: r.test.count, provenance: r.provenance } };
}
