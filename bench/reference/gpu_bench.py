"""PyTorch reference for `npm run bench:gpu`, on a CUDA GPU: the CIFAR ResNets of resnet_bench.py.

Measures on random data, images per second of
  train-r18 / train-r50: forward (batch statistics) + cross-entropy + backward + SGD momentum step
  pgd-l2:    one L2-PGD step of ResNet-18 (eval forward, input gradient, normalised step, projection)
  grid775:   eval-mode ResNet-18 forwards of images under 775 rotations/translations
             (affine_grid + grid_sample, bilinear, zero padding), counted in (image, motion) pairs
in fp32 with TF32 off (--tf32 off) or PyTorch's default (--tf32 default: cuDNN convolutions may use
TF32, matmuls not), and prints one JSON object per line. Usage:
  python3 gpu_bench.py --batch 128 --seconds 5 --tf32 off
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_bench import ResNet  # noqa: E402


def timed(step, count, seconds, min_steps=3, warmup=2):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    start = time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return count / statistics.median(times), len(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--grid-images", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--tf32", choices=["off", "default"], default="off")
    a = p.parse_args()
    dev = torch.device("cuda")
    if a.tf32 == "off":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    x = torch.rand(a.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (a.batch,), device=dev)
    meta = {"tf32": a.tf32, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "batch": a.batch}

    for depth in (18, 50):
        model = ResNet(depth, a.width).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def train():
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        ips, steps = timed(train, a.batch, a.seconds)
        print(json.dumps({"what": f"train-r{depth}", "per_s": ips, "steps": steps, **meta}), flush=True)

    model = ResNet(18, a.width).to(dev).eval()
    eps, step = 0.5, 0.25

    def pgd():
        xx = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(xx), y, reduction="sum"), xx)
        n = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        adv = xx.detach() + step * g / n
        d = adv - x
        dn = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        return (x + d * torch.clamp(eps / dn.clamp_min(1e-12), max=1)).clamp(0, 1)

    ips, steps = timed(pgd, a.batch, a.seconds)
    print(json.dumps({"what": "pgd-l2", "per_s": ips, "steps": steps, **meta}), flush=True)

    trans = [-3 + 1.5 * i for i in range(5)]
    rots = [-30 + 2 * i for i in range(31)]
    motions = [(r, ty, tx) for r in rots for ty in trans for tx in trans]
    theta = torch.tensor(
        [[[math.cos(math.radians(r)), -math.sin(math.radians(r)), tx * 2 / 32],
          [math.sin(math.radians(r)), math.cos(math.radians(r)), ty * 2 / 32]] for r, ty, tx in motions],
        device=dev, dtype=torch.float32)
    imgs = torch.rand(a.grid_images, 3, 32, 32, device=dev)

    def grid():
        with torch.no_grad():
            for i in range(a.grid_images):
                for s in range(0, len(motions), a.batch):
                    th = theta[s:s + a.batch]
                    g = F.affine_grid(th, (th.shape[0], 3, 32, 32), align_corners=False)
                    w = F.grid_sample(imgs[i:i + 1].expand(th.shape[0], -1, -1, -1), g, align_corners=False)
                    model(w).argmax(1)

    ips, steps = timed(grid, a.grid_images * len(motions), a.seconds, min_steps=2, warmup=1)
    print(json.dumps({"what": "grid775", "per_s": ips, "steps": steps, **meta}), flush=True)


if __name__ == "__main__":
    main()
