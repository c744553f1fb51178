// The robustfeat CLI (the engine's verbs) on the real project with its nodes named as before
// docs/naming.md: the same stages, params and code, so the same node keys, under the old ids.
import { buildCli, main } from '../../engine/cli/program.ts';
import type { Project } from '../../engine/core/project.ts';
import type { Profile } from '../../experiments/profile.ts';
import { buildGraph, project } from '../../experiments/project.ts';
import { LEGACY_NAMING } from './legacy-naming.ts';

const legacy: Project<Profile> = { ...project, build: (p, name, overrides, context) => buildGraph(p, name, overrides, context, LEGACY_NAMING) };

// Not awaited: main reports its own errors.
void main(buildCli(legacy));
