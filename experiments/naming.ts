/**
 * Node ids (docs/naming.md): `<stage>` or `<stage>@<variant>`, the variant's segments joined by
 * `-`, every character in [a-z0-9._-], so an id is typed at a shell as it is printed. A name from
 * the paper becomes a segment by one rule (`token`): lower case, `*` as `star`, everything but
 * letters, digits and `.` dropped: ResNet-18 → resnet18, D_R → dr, D_det → ddet, std* → stdstar,
 * f_A → fa. Numbers carry their axis (alpha0.5, lr0.05, step20); attack presets are already
 * segments (l2-0.5, grid775_10). The graph builders name nodes only through a `Naming`, so a test
 * can build one store under two namings and check that a rename reruns nothing.
 */
import { UserError } from '../engine/core/result.ts';
import { nameToken } from '../report/labels.ts';

/** The variant part of the ids the builders give, one function per kind of node. */
export interface Naming {
  /** Q1's training run of one architecture: `q1-resnet34`. */
  q1Run(arch: string): string;
  /** A snapshot of a run: `q1-resnet34-step20`. */
  snapshot(run: string, step: number): string;
  /** Q2's run of a model (its paper name) on D_mix(alpha): `q2-resnet18-alpha0.5`. */
  q2Run(model: string, alpha: number): string;
  /** Q3's run: `q3-gresnet-resnet18-dr-stdstar-lr0.05`; a backbone named as its family is not repeated (`q3-resnet50-d-std-lr0.05`). */
  q3Run(run: { family: string; backbone: string; dataset: string; augmentation: string; lr: number }): string;
  /** The robust model f_A: `fa`. */
  readonly fA: string;
  /** A D_NR variant, as a dataset and as the model trained on it alone: `ddet`, `drand`. */
  dnr(variant: 'det' | 'rand'): string;
  /** An evaluation of a run's model under an attack preset: `q2-resnet18-alpha0-l2-0.5`. */
  evaluation(run: string, attack: string): string;
}

/** Characters of an id segment. */
export const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;

/** A paper name as an id segment (see the module comment). */
export function token(name: string): string {
  const t = nameToken(name);
  if (!SEGMENT.test(t)) throw new UserError(`params.yaml: the name '${name}' leaves no letters or digits for a node id`);
  return t;
}

/** A number with its axis name. Numbers print as JavaScript writes them, which for values read from params.yaml is as written there (0.05; 1e-4 -> 0.0001). */
export function numbered(axis: string, value: number): string {
  return `${axis}${String(value)}`;
}

/** An attack preset (ml/attacks/config.ts) as an id segment: presets are named in its characters already. */
export function attackSegment(preset: string): string {
  if (!SEGMENT.test(preset)) throw new Error(`attack preset '${preset}' is not a valid id segment (${SEGMENT})`);
  return preset;
}

export const NAMING: Naming = {
  q1Run: (arch) => `q1-${token(arch)}`,
  snapshot: (run, step) => `${run}-${numbered('step', step)}`,
  q2Run: (model, alpha) => `q2-${token(model)}-${numbered('alpha', alpha)}`,
  q3Run: ({ family, backbone, dataset, augmentation, lr }) => {
    const f = token(family);
    const b = token(backbone);
    return ['q3', f, ...(b === f ? [] : [b]), token(dataset), token(augmentation), numbered('lr', lr)].join('-');
  },
  fA: token('f_A'),
  dnr: (variant) => token(`D_${variant}`),
  evaluation: (run, attack) => `${run}-${attackSegment(attack)}`,
};

/** `stage@variant`. */
export const nodeId = (stage: string, variant?: string): string => (variant === undefined ? stage : `${stage}@${variant}`);
