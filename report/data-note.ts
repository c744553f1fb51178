/**
 * The line a report carries on the images really used: the training and test sets' counts as
 * read at run time (a partial CIFAR-10 copy or a subset can hold fewer than the profile implies).
 */
import { readDatasetHeader } from '../ml/data/dataset-file.ts';
import type { ProfileInfo } from './profile.ts';

export function withDataCounts(profile: ProfileInfo, sets: { readonly train?: string; readonly test?: string }): ProfileInfo {
  const part = (path: string | undefined, what: string): string | undefined => {
    if (path === undefined) return undefined;
    const h = readDatasetHeader(path);
    const partial = (h.meta as { partial?: { note?: string } }).partial;
    return `${h.count} ${what} images${partial ? ' (from a partial local copy)' : ''}`;
  };
  const parts = [part(sets.train, 'training'), part(sets.test, 'test')].filter((s): s is string => s !== undefined);
  if (parts.length === 0) return profile;
  return {
    ...profile,
    notes: [...(profile.notes ?? []), `Images used: ${parts.join(', ')} (evaluations may use a subset of the test images, evaluation.count).`],
  };
}
