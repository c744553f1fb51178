"""PyTorch CPU reference for bench/train-step.ts: SGD steps per second of the same CIFAR ResNet
(robustness-library layout, width multiplier, block counts) on random data. Prints one JSON line."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'models'))
from make_torch_fixtures import Basic, Bottle, ResNet  # noqa: E402

arch, width, size, batch, steps, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
blocks = {'resnet18': [2, 2, 2, 2], 'resnet34': [3, 4, 6, 3], 'resnet50': [3, 4, 6, 3]}[arch]
model = ResNet(Bottle if arch == 'resnet50' else Basic, blocks, width, 10).train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.rand(batch, 3, size, size)
y = torch.randint(0, 10, (batch,))


def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
print(json.dumps({'imagesPerSecond': batch * steps / dt}))
