"""PyTorch reference for `npm run bench:engine`: the CIFAR ResNet of bench/engine-resnet.ts.

Measures, on random data, images per second of
  train:      forward (batch-norm batch statistics) + cross-entropy + backward + SGD momentum update
  input-grad: forward (batch-norm running statistics) + cross-entropy + backward to the input
and prints one JSON object per line. Usage:
  python3 resnet_bench.py --depth 18 --width 16 --batch 32 --threads 2 --seconds 10
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(planes)
        self.c2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(planes)
        self.short = nn.Sequential()
        if stride != 1 or cin != planes:
            self.short = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        out = self.b2(self.c2(out))
        return F.relu(out + self.short(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.c1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.b1 = nn.BatchNorm2d(planes)
        self.c2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.b2 = nn.BatchNorm2d(planes)
        self.c3 = nn.Conv2d(planes, out, 1, bias=False)
        self.b3 = nn.BatchNorm2d(out)
        self.short = nn.Sequential()
        if stride != 1 or cin != out:
            self.short = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        o = F.relu(self.b1(self.c1(x)))
        o = F.relu(self.b2(self.c2(o)))
        o = self.b3(self.c3(o))
        return F.relu(o + self.short(x))


class ResNet(nn.Module):
    def __init__(self, depth, width, classes=10):
        super().__init__()
        block, counts = (Bottleneck, [3, 4, 6, 3]) if depth == 50 else (Basic, [2, 2, 2, 2])
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for stage, n in enumerate(counts):
            planes = width * 2**stage
            for i in range(n):
                stride = 2 if i == 0 and stage > 0 else 1
                layers.append(block(cin, planes, stride))
                cin = planes * block.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = (x.clamp(0, 1) - self.mean) / self.std
        h = F.relu(self.bn(self.stem(x)))
        h = self.layers(h)
        h = F.avg_pool2d(h, 4).flatten(1)
        return self.fc(h)


def timed(step, batch, seconds, min_steps, warmup=2):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return batch / statistics.median(times), len(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, choices=[18, 50], required=True)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--min-steps", type=int, default=3)
    p.add_argument("--what", choices=["train", "input-grad", "both"], default="both")
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = ResNet(a.depth, a.width)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))

    def train():
        model.train()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def input_grad():
        model.eval()
        xx = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(xx), y), xx)
        return g

    for what, fn in (("train", train), ("input-grad", input_grad)):
        if a.what not in (what, "both"):
            continue
        ips, steps = timed(fn, a.batch, a.seconds, a.min_steps)
        print(json.dumps({"what": what, "depth": a.depth, "width": a.width, "batch": a.batch,
                          "img_per_s": ips, "steps": steps, "threads": torch.get_num_threads(),
                          "torch": torch.__version__,
                          "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


if __name__ == "__main__":
    main()
