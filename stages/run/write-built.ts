import { writeDataset, type DatasetMeta } from '../../ml/data/dataset-file.ts';
import type { BuiltDataset } from '../../ml/robust/built-dataset.ts';

/** A built D_R / D_NR in the dataset file format: float32 pixels, the base set's class names, and `meta`. */
export function writeBuiltDataset(path: string, built: BuiltDataset, classNames: readonly string[], meta: DatasetMeta): void {
  writeDataset(
    path,
    { height: built.height, width: built.width, channels: built.channels, numClasses: built.numClasses, dtype: 'float32', classNames, meta },
    built.images,
    built.labels,
  );
}
