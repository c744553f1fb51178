import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * params.yaml with a `tiny` default profile: the demo with one Q2 ResNet-18 of `width` on 384
 * images, for the estimate test and its calibration benchmark (bench/estimate-calibration.ts).
 */
export function tinyProfile(width: number, epochs = 3): string {
  const base = readFileSync(join(ROOT, 'params.yaml'), 'utf8');
  return `${base.replace('default_profile: demo', 'default_profile: tiny')}
  tiny:
    extends: demo
    jobs: 1
    data:
      synthetic: { seed: 0, trainCount: 384, testCount: 100 }
    robust:
      build: { count: 384 }
      nonRobust: { count: 384 }
    q2:
      alphas: [0]
      models:
        - { name: ResNet-18, model: { arch: resnet18, width: ${width}, blocks: [1, 1, 1, 1] } }
      train: { epochs: ${epochs} }
`;
}
