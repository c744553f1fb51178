/**
 * The miniature profile of the end-to-end tests: every experiment of the demo at toy sizes (128
 * training images, one epoch), valid as a whole so the graph checks pass. Tests that run it through
 * another executor add their own keys (e.g. `slurm:`) by spreading it.
 */
export const MINI_TRAIN = { batchSize: 32, epochs: 1, checkpointEvery: 3 };

export const MINI_PROFILE = {
  extends: 'demo',
  description: 'test miniature',
  data: { synthetic: { seed: 1, trainCount: 128, testCount: 48 } },
  robust: {
    train: MINI_TRAIN,
    adversarial: { iterations: 2 },
    build: { steps: 3, batchSize: 64, count: 64 },
    nonRobust: { variants: ['det', 'rand'], iterations: 2, count: 24 },
  },
  evaluation: { count: 16, batchSize: 64 },
  q1: {
    train: { ...MINI_TRAIN, epochs: 2, lr: { kind: 'milestones', lr: 0.05, milestones: [5], factor: 0.1 } },
    snapshots: { denseEvery: 2, denseEpochs: 1, sparseEveryEpochs: 1 },
    fig1: ['rot30', 'grid775'],
    fig2: ['linf-8-rs'],
  },
  // The demo's models, restated without the train settings some of them carry (VGG-16 8 epochs,
  // ResNet-50 5), which would otherwise win over MINI_TRAIN.
  q2: {
    alphas: [0, 1],
    train: MINI_TRAIN,
    models: [
      { name: 'ResNet-50', model: { arch: 'resnet50', width: 0.0625, blocks: [1, 1, 1, 1] } },
      { name: 'ResNet-18', model: { arch: 'resnet18', width: 0.125, blocks: [1, 1, 1, 1] } },
      { name: 'VGG-16', model: { arch: 'vgg16', width: 0.125 } },
    ],
    attacks: { 'ResNet-50': ['l2-0.5', 'linf-8'], default: ['l2-0.5'] },
  },
  q3: {
    augmentations: ['std*'],
    train: MINI_TRAIN,
    attacks: ['none', 'rot30', 'grid775'],
    families: { 'ResNet-50': { backbones: [{ name: 'ResNet-50', model: { arch: 'resnet50', width: 0.0625, blocks: [1, 1, 1, 1] } }] } },
  },
} as const;
