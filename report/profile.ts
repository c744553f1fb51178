/**
 * Which parameter profile produced a report, and the warning every synthetic-data report carries:
 * the planted-feature dataset answers the paper's questions in kind, not in CIFAR-10 numbers.
 */
export interface ProfileInfo {
  /** The params.yaml profile name (`demo`, `cpu`, `paper`, …). */
  readonly name: string;
  /** True when the runs trained and evaluated on the synthetic planted-feature dataset. */
  readonly synthetic: boolean;
  /** One line on what the profile shrinks or changes, e.g. "2 epochs, 500 test images". */
  readonly description?: string;
  /** What actually ran where it is not the profile's description: `--set` overrides, evaluation size. */
  readonly asRun?: string;
  /** What really ran: data subsets, where D_R came from, each model's real depth and widths. */
  readonly notes?: readonly string[];
}

/** "`demo` — description (as run: …)" — the profile as the report's header states it. */
export function profileSummary(profile: ProfileInfo): string {
  return `${profile.description ? ` — ${profile.description}` : ''}${profile.asRun ? ` (as run: ${profile.asRun})` : ''}`;
}

/** The notes as Markdown bullet lines (empty when there are none). */
export function notesMarkdown(profile: ProfileInfo): string[] {
  return profile.notes && profile.notes.length > 0 ? [...profile.notes.map((n) => `- ${n}`), ''] : [];
}

export function syntheticBanner(profile: ProfileInfo): string | undefined {
  if (!profile.synthetic) return undefined;
  return (
    `SYNTHETIC DATA: these numbers come from the synthetic planted-feature dataset (profile '${profile.name}'), ` +
    `not from CIFAR-10; they are not comparable in absolute terms to the paper's CIFAR-10 numbers shown beside them.`
  );
}

/** "profile demo (synthetic data)" — for titles. */
export function profileTag(profile: ProfileInfo): string {
  return `profile ${profile.name}${profile.synthetic ? ' (synthetic data)' : ''}`;
}

export function checkProfile(profile: ProfileInfo, where: string): void {
  if (typeof profile?.name !== 'string' || profile.name.trim() === '') throw new Error(`${where}: profile.name must be a non-empty string`);
  if (typeof profile.synthetic !== 'boolean') throw new Error(`${where}: profile.synthetic must be a boolean`);
}
