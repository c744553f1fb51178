/**
 * How long-running library code (training, attacks, dataset construction, downloads) reports
 * progress without knowing who renders it: the engine turns these events into a bar with rate and
 * ETA on a terminal, or plain lines in a log. A contract shared by ml/ and engine/, which must not
 * import each other (the engine knows nothing of machine learning; ml/ nothing of the engine).
 */
export interface ProgressEvent {
  /** Units done so far and in total (images, steps, bytes). */
  readonly done: number;
  readonly total: number;
  readonly unit: string;
  /** Short live figures shown beside the bar, e.g. { loss: 0.71, acc: 0.62 }. */
  readonly info?: Readonly<Record<string, number | string>>;
}

export type ProgressSink = (event: ProgressEvent) => void;
