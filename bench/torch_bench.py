"""Reference throughput of the attack workload in PyTorch (Debian python3-torch), CPU.

Adapted from ../shared/bench/torch_bench.py for `npm run bench -- attacks`: same CNN as gradsign's
default (conv32-pool-conv64-pool-fc128-fc10 on 28x28x1, random seeded weights), same workloads as
bench/attacks.ts, JSON out.

  FGSM: one input-gradient step, x' = clamp(x + eps*sign(grad), 0, 1)
  BIM:  `steps` such steps, each projected onto [x0-eps, x0+eps] and [0,1]

Prints images/s (median of `reps` timed runs after one warm-up) per batch size.

  /usr/bin/python3 bench/torch_bench.py [--threads 2] [--batches 32,128,256] [--reps 7] [--bim-reps 3] [--json]

With --serve it stays up and answers FGSM requests, one JSON line each way ({"batch": 256, "reps": 7}
→ {"batch": 256, "fgsm": {...}}), so a caller can alternate PyTorch and its own measurements closely
in time on a machine whose load drifts.
"""
import argparse, json, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--batches", default="32,128,256")
parser.add_argument("--reps", type=int, default=7)
parser.add_argument("--bim-reps", type=int, default=3)
parser.add_argument("--bim-steps", type=int, default=10)
parser.add_argument("--eps", type=float, default=8 / 255)
parser.add_argument("--json", action="store_true")
parser.add_argument("--serve", action="store_true")
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
for p in net.parameters():
    p.requires_grad_(False)


def grad_sign(x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(net(x), y)
    g, = torch.autograd.grad(loss, x)
    return g.sign()


def fgsm(x, y, eps):
    return (x + eps * grad_sign(x, y)).clamp(0, 1)


def bim(x0, y, eps, alpha, steps):
    lo = (x0 - eps).clamp(min=0)
    hi = (x0 + eps).clamp(max=1)
    x = x0
    for _ in range(steps):
        x = torch.min(torch.max(x + alpha * grad_sign(x, y), lo), hi)
    return x


def bench(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def stats(batch, ts):
    rates = sorted(batch / t for t in ts)
    return {"median": statistics.median(rates), "min": rates[0], "max": rates[-1]}


if args.serve:
    inputs = {}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        b, reps = int(req["batch"]), int(req["reps"])
        if b not in inputs:
            inputs[b] = (torch.rand(b, 1, 28, 28), torch.randint(0, 10, (b,)))
        x, y = inputs[b]
        print(json.dumps({"batch": b, "fgsm": stats(b, bench(lambda: fgsm(x, y, args.eps), reps))}), flush=True)
    sys.exit(0)

results = []
for b in (int(s) for s in args.batches.split(",")):
    x = torch.rand(b, 1, 28, 28)
    y = torch.randint(0, 10, (b,))
    with torch.no_grad():
        fwd = bench(lambda: net(x), args.reps)
    row = {
        "batch": b,
        "forward": stats(b, fwd),
        "fgsm": stats(b, bench(lambda: fgsm(x, y, args.eps), args.reps)),
        # --bim-reps 0 skips BIM (quick FGSM-only rounds)
        "bim": stats(b, bench(lambda: bim(x, y, args.eps, 1 / 255, args.bim_steps), args.bim_reps)) if args.bim_reps > 0 else None,
    }
    results.append(row)
    if not args.json:
        bim_text = f"{row['bim']['median']:.0f}" if row["bim"] else "-"
        print(f"torch threads={torch.get_num_threads()} batch={b} forward={row['forward']['median']:.0f} "
              f"fgsm={row['fgsm']['median']:.0f} bim{args.bim_steps}={bim_text} img/s", file=sys.stderr)

if args.json:
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "bimSteps": args.bim_steps, "results": results}))
