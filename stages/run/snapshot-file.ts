/** The file a training run saves its weights after `step` updates to (train writes it, snapshot reads it). */
export function snapshotFileName(step: number): string {
  return `step-${String(step).padStart(7, '0')}.model`;
}
