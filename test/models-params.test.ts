// Parameter counts at width 1 against the usual figures and against hand calculations; config
// validation; parameter naming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countParameters, parameterSpecs } from '../ml/models/registry.ts';
import { parseModelConfig, type ModelConfigInput } from '../ml/models/config.ts';

const cifar = { numClasses: 10, inputSize: 32 } as const;

test('ResNet-18/34/50 and VGG-16 (CIFAR, width 1) have the usual parameter counts', () => {
  // torchvision-style counts of the robustness library's CIFAR models (BN weight and bias included).
  assert.equal(countParameters({ arch: 'resnet18', ...cifar }), 11_173_962);
  assert.equal(countParameters({ arch: 'resnet34', ...cifar }), 21_282_122);
  assert.equal(countParameters({ arch: 'resnet50', ...cifar }), 23_520_842);
  assert.equal(countParameters({ arch: 'vgg16', ...cifar }), 14_728_266);
});

const conv = (k: number, i: number, o: number) => k * k * i * o;
const bn = (c: number) => 2 * c;
const linear = (i: number, o: number) => i * o + o;

/** Hand count of a (G-)ResNet with basic blocks: `gconv` counts a group conv (k, in, out, lifting?). */
function basicResNet(
  widths: number[],
  blocks: number[],
  c: (k: number, i: number, o: number, lift: boolean) => number,
  head: (last: number) => number,
): number {
  let total = c(3, 3, widths[0]!, true) + bn(widths[0]!);
  let inC = widths[0]!;
  blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const w = widths[s]!;
      const stride = b === 0 && s > 0 ? 2 : 1;
      total += c(3, inC, w, false) + bn(w) + c(3, w, w, false) + bn(w);
      if (stride !== 1 || inC !== w) total += c(1, inC, w, false) + bn(w);
      inC = w;
    }
  });
  return total + head(inC);
}

test('G-ResNet-18/34 (widths 23/45/91/181) match a hand count and stay close to ResNet-18/34', () => {
  const gconv = (k: number, i: number, o: number, lift: boolean) => (lift ? conv(k, i, o) : conv(k, i * 8, o));
  for (const [arch, blocks, plain] of [
    ['gresnet18', [2, 2, 2, 2], 11_173_962],
    ['gresnet34', [3, 4, 6, 3], 21_282_122],
  ] as const) {
    const flat = basicResNet([23, 45, 91, 181], [...blocks], gconv, (last) => linear(last * 8, 10));
    const pooled = basicResNet([23, 45, 91, 181], [...blocks], gconv, (last) => linear(last, 10));
    assert.equal(countParameters({ arch, ...cifar }), flat);
    assert.equal(countParameters({ arch, ...cifar, groupPool: true }), pooled);
    assert.ok(Math.abs(flat / plain - 1) < 0.01, `${arch}: ${flat} vs ${plain}`);
  }
  assert.equal(countParameters({ arch: 'gresnet18', ...cifar }), 11_201_415);
});

test('STN and PTN add their localisation / origin networks to the ResNet backbone', () => {
  const plain = (w: number[]) =>
    basicResNet(
      w,
      [2, 2, 2, 2],
      (k, i, o) => conv(k, i, o),
      (last) => linear(last, 10),
    );
  const r18 = plain([64, 128, 256, 512]);
  assert.equal(r18, 11_173_962);
  // Tutorial localisation on 32x32: conv7 (3->8) -> pool -> conv5 (8->10) -> pool -> 10*4*4 -> 32 -> 6.
  const loc = conv(7, 3, 8) + 8 + conv(5, 8, 10) + 10 + linear(160, 32) + linear(32, 6);
  assert.equal(countParameters({ arch: 'stn-resnet18', ...cifar }), r18 + loc);
  // Origin predictor: three 3x3 conv (no bias) + BN of 20 filters, then a 1x1 conv to 1 channel with bias.
  const origin = conv(3, 3, 20) + bn(20) + 2 * (conv(3, 20, 20) + bn(20)) + conv(1, 20, 1) + 1;
  assert.equal(countParameters({ arch: 'ptn-resnet18', ...cifar }), r18 + origin);
});

test('width multiplies channel counts and blocks override the depth', () => {
  const w = (b: number) => Math.max(1, Math.round(b / 8));
  const expected = basicResNet(
    [w(64), w(128), w(256), w(512)],
    [1, 1, 1, 1],
    (k, i, o) => conv(k, i, o),
    (last) => linear(last, 10),
  );
  assert.equal(countParameters({ arch: 'resnet18', width: 1 / 8, blocks: [1, 1, 1, 1], ...cifar }), expected);
});

test('parameters carry PyTorch module paths; running statistics are not trainable', () => {
  const specs = parameterSpecs({ arch: 'resnet18', width: 1 / 16, ...cifar });
  const names = specs.map((s) => s.name);
  for (const n of ['conv1.weight', 'bn1.running_mean', 'layer2.0.shortcut.0.weight', 'layer2.0.shortcut.1.bias', 'layer4.1.bn2.running_var', 'linear.weight']) {
    assert.ok(names.includes(n), n);
  }
  assert.equal(new Set(names).size, names.length);
  for (const s of specs) assert.equal(s.trainable, !s.name.includes('running_'), s.name);
  const vgg = parameterSpecs({ arch: 'vgg16', ...cifar }).map((s) => s.name);
  assert.ok(vgg.includes('features.0.weight') && vgg.includes('features.41.running_var') && vgg.includes('classifier.bias'));
});

test('bad configs are rejected with messages naming the problem', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ arch: 'resnet19', numClasses: 10, inputSize: 32 }, /invalid model config/],
    [{ arch: 'resnet18', inputSize: 32 }, /numClasses/],
    [{ arch: 'resnet18', numClasses: 10, inputSize: 32, width: -1 }, /width/],
    [{ arch: 'resnet18', numClasses: 10, inputSize: 32, blocks: [1, 1] }, /blocks/],
    [{ arch: 'resnet18', numClasses: 10, inputSize: 32, groupPool: true }, /groupPool/],
    [{ arch: 'vgg16', numClasses: 10, inputSize: 16 }, /vgg16 needs inputSize divisible by 32/],
  ];
  for (const [cfg, re] of bad)
    assert.throws(
      () => parseModelConfig(cfg, 'params.yaml:model'),
      (e: Error) => re.test(e.message) && e.message.startsWith('params.yaml:model'),
    );
  assert.throws(
    () => parameterSpecs({ arch: 'stn-resnet18', numClasses: 10, inputSize: 16 } as ModelConfigInput),
    /localisation kernels \[7,5\] leave no pixels of a 16x16 input/,
  );
  // Defaults are filled in.
  assert.deepEqual(parseModelConfig({ arch: 'stn-resnet18', numClasses: 10, inputSize: 32 }), {
    arch: 'stn-resnet18',
    width: 1,
    numClasses: 10,
    inputSize: 32,
    loc: { channels: [8, 10], kernels: [7, 5], hidden: 32 },
  });
});
