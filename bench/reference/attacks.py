"""PyTorch reference for bench/attacks.ts: the same ResNet-18-like network, weights, images, grid
order and labels (read from the folder the TypeScript side writes), running the same grid775 attack
with early stopping (rounds of grid points, fooled examples dropped) and the same L2-PGD.

Usage: python3 attacks.py DIR   (prints one JSON line)
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2023, 0.1994, 0.2010]).view(1, 3, 1, 1)


def load(d):
    cfg = json.load(open(f"{d}/config.json"))
    flat = np.fromfile(f"{d}/weights.bin", dtype=np.float32)
    w = {}
    for e in cfg["manifest"]:
        size = int(np.prod(e["shape"]))
        t = torch.from_numpy(flat[e["offset"]:e["offset"] + size].copy()).view(*e["shape"])
        if len(e["shape"]) == 4:  # tfjs conv [kh, kw, in, out] -> torch [out, in, kh, kw]
            t = t.permute(3, 2, 0, 1).contiguous()
        elif e["name"] == "linear.weight":  # [in, out] -> [out, in]
            t = t.t().contiguous()
        w[e["name"]] = t
    n = cfg["n"]
    images = torch.from_numpy(np.fromfile(f"{d}/images.bin", dtype=np.float32)).view(n, 32, 32, 3).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(np.fromfile(f"{d}/labels.bin", dtype=np.int32).astype(np.int64))
    return cfg, w, images, labels


class Net(torch.nn.Module):
    def __init__(self, w, width):
        super().__init__()
        self.w = w
        self.width = width

    def conv_bn(self, x, name, bn, stride):
        k = self.w[f"{name}.weight"]
        pad = 0 if k.shape[-1] == 1 else 1
        # TF 'same' padding for stride 2 on even sizes pads (0, 1); torch's symmetric pad 1 differs,
        # so pad explicitly like TF does.
        if stride == 2 and pad == 1:
            x = F.pad(x, (0, 1, 0, 1))
            y = F.conv2d(x, k, stride=2)
        else:
            y = F.conv2d(x, k, stride=stride, padding=pad)
        return F.batch_norm(y, self.w[f"{bn}.mean"], self.w[f"{bn}.var"], self.w[f"{bn}.gamma"], self.w[f"{bn}.beta"], False, 0.0, 1e-5)

    def forward(self, x):
        h = (x.clamp(0, 1) - MEAN) / STD
        h = F.relu(self.conv_bn(h, "stem", "stem.bn", 1))
        cin = self.width
        for s, mult in enumerate([1, 2, 4, 8]):
            cout = self.width * mult
            for b in range(2):
                stride = 2 if b == 0 and s > 0 else 1
                p = f"layer{s + 1}.{b}"
                a = F.relu(self.conv_bn(h, f"{p}.conv1", f"{p}.bn1", stride))
                r = self.conv_bn(a, f"{p}.conv2", f"{p}.bn2", 1)
                sc = self.conv_bn(h, f"{p}.shortcut", f"{p}.shortcut.bn", stride) if (stride != 1 or cin != cout) else h
                h = F.relu(r + sc)
                cin = cout
        h = F.avg_pool2d(h, 4).flatten(1)
        return h @ self.w["linear.weight"].t() + self.w["linear.bias"]


def thetas(motions):
    """Affine matrices for F.affine_grid (align_corners=True, square 32x32): output pixel p samples
    R^-1 (p - t) about the centre, R counter-clockwise in image coordinates (y down)."""
    out = []
    for m in motions:
        a = math.radians(m["angleDeg"])
        c, s = math.cos(a), math.sin(a)
        tx, ty = 2 * m["tx"] / 31, 2 * m["ty"] / 31
        out.append([[c, -s, -(c * tx - s * ty)], [s, c, -(s * tx + c * ty)]])
    return torch.tensor(out, dtype=torch.float32)


def warp(x, theta):
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def grid_attack(net, images, labels, motions, batch, per_round, exhaustive=False):
    th = thetas(motions)
    n = images.shape[0]
    robust = torch.ones(n, dtype=torch.bool)
    evaluations = 0
    active = list(range(n))
    with torch.no_grad():
        for start in range(0, len(motions), per_round):
            if not active:
                break
            items = []

            def run(items):
                ex = torch.tensor([i for i, _ in items])
                pt = torch.tensor([p for _, p in items])
                pred = net(warp(images[ex], th[pt])).argmax(1)
                fooled = ex[pred != labels[ex]]
                robust[fooled] = False
                return len(items)

            for p in range(start, min(start + per_round, len(motions))):
                for i in active:
                    if not robust[i] and not exhaustive:
                        continue
                    items.append((i, p))
                    if len(items) == batch:
                        evaluations += run(items)
                        items = []
            if items:
                evaluations += run(items)
            if not exhaustive:
                active = [i for i in active if robust[i]]
    return int(robust.sum()), evaluations


def pgd_l2(net, x0, y, eps, step, iterations):
    """L2-PGD as docs/method/pgd-and-grids.md#pgd states it: per-example loss, best iterate (start and end included), step, project, clamp."""
    x = x0.clone()
    best_x, best_loss = None, None

    def record(loss, x):
        nonlocal best_x, best_loss
        if best_x is None:
            best_x, best_loss = x.clone(), loss.clone()
        else:
            better = loss > best_loss
            best_x[better] = x[better]
            best_loss[better] = loss[better]

    for _ in range(iterations):
        x.requires_grad_(True)
        loss = F.cross_entropy(net(x), y, reduction="none")
        (g,) = torch.autograd.grad(loss.sum(), [x])
        with torch.no_grad():
            record(loss.detach(), x.detach())
            gn = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            x = x.detach() + step * g / (gn + 1e-10)
            d = x - x0
            dn = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            d = torch.where(dn > eps, d * (eps / dn), d)
            x = (x0 + d).clamp(0, 1)
    with torch.no_grad():
        record(F.cross_entropy(net(x), y, reduction="none"), x)
    return best_x


def main():
    d = sys.argv[1]
    cfg, w, images, labels = load(d)
    torch.set_num_threads(cfg["threads"])
    net = Net(w, cfg["width"]).eval()
    with torch.no_grad():
        ours = torch.from_numpy(np.fromfile(f"{d}/logits8.bin", dtype=np.float32)).view(8, 10)
        logits_diff = float((net(images[:8]) - ours).abs().max())
        pred = torch.cat([net(images[s:s + cfg["batch"]]).argmax(1) for s in range(0, images.shape[0], cfg["batch"])])
        agreement = float((pred == labels).float().mean())
        probe = torch.stack([warp(images[:2], thetas([m]).expand(2, 2, 3)) for m in cfg["warpProbe"]])
        ours_warp = torch.from_numpy(np.fromfile(f"{d}/warp3.bin", dtype=np.float32)).view(len(cfg["warpProbe"]), 2, 32, 32, 3).permute(0, 1, 4, 2, 3)
        warp_diff = float((probe - ours_warp).abs().max())

    # Warm-up, as on the TypeScript side: one forward at the grid batch size, one gradient at the PGD batch size.
    with torch.no_grad():
        net(images[:cfg["batch"]])
    xw = images[:cfg["pgdBatch"]].clone().requires_grad_(True)
    torch.autograd.grad(net(xw).sum(), [xw])

    gi = cfg["gridImages"]
    t = time.perf_counter()
    grid_robust, evaluations = grid_attack(net, images[:gi], labels[:gi], cfg["motions"], cfg["batch"], cfg["pointsPerRound"])
    grid_seconds = time.perf_counter() - t

    gf = cfg["gridFullImages"]
    t = time.perf_counter()
    full_robust, full_evaluations = grid_attack(net, images[:gf], labels[:gf], cfg["motions"], cfg["batch"], cfg["pointsPerRound"], exhaustive=True)
    full_seconds = time.perf_counter() - t

    pi, pb = cfg["pgdImages"], cfg["pgdBatch"]
    t = time.perf_counter()
    pgd_robust = 0
    for s in range(0, pi, pb):
        x0, y = images[s:min(s + pb, pi)], labels[s:min(s + pb, pi)]
        adv = pgd_l2(net, x0, y, 0.5, 0.1, cfg["pgdSteps"])
        with torch.no_grad():
            pgd_robust += int((net(adv).argmax(1) == y).sum())
    pgd_seconds = time.perf_counter() - t

    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "logitsMaxAbsDiff": logits_diff, "labelAgreement": agreement, "warpMaxAbsDiff": warp_diff,
        "grid": {"seconds": grid_seconds, "robust": grid_robust, "evaluations": evaluations},
        "gridFull": {"seconds": full_seconds, "robust": full_robust, "evaluations": full_evaluations},
        "pgd": {"seconds": pgd_seconds, "robust": pgd_robust},
    }))


if __name__ == "__main__":
    main()
