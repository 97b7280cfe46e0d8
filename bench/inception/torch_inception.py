"""PyTorch reference for `npm run bench -- inception`: torchvision's Inception V3 (random init, no
auxiliary head), CPU, answering timing requests one JSON line each way on stdin/stdout:

  {"method": "fgsm" | "bim", "batch": 8, "reps": 1}  ->  {"method": ..., "batch": 8, "seconds": [...]}

The first line out is {"torch": version, "threads": n}. Same workload as gradsign's attacks: pixels
in [0,1] mapped to [-1,1] inside the differentiated function (Inception normalisation), softmax
cross-entropy on the logits,
  FGSM: x' = clamp(x + eps*sign(grad), 0, 1)
  BIM:  `steps` steps of alpha = 1/255, each projected onto [x0-eps, x0+eps] and [0,1].
The first request for a method and batch runs one untimed warm-up first.

  /usr/bin/python3 bench/inception/torch_inception.py --size 299 [--threads 2] [--eps 0.0314] [--bim-steps 10]
"""
import argparse, json, sys, time

import torch
import torch.nn.functional as F
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=299)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--eps", type=float, default=8 / 255)
parser.add_argument("--bim-steps", type=int, default=10)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
net = torchvision.models.inception_v3(weights=None, init_weights=True, aux_logits=False).eval()
for p in net.parameters():
    p.requires_grad_(False)


def grad_sign(x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(net(x * 2 - 1), y)
    g, = torch.autograd.grad(loss, x)
    return g.sign()


def fgsm(x, y):
    return (x + args.eps * grad_sign(x, y)).clamp(0, 1)


def bim(x0, y):
    lo, hi = (x0 - args.eps).clamp(min=0), (x0 + args.eps).clamp(max=1)
    x = x0
    for _ in range(args.bim_steps):
        x = torch.min(torch.max(x + grad_sign(x, y) / 255, lo), hi)
    return x


inputs, warmed = {}, set()
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    b, reps, method = int(req["batch"]), int(req["reps"]), {"fgsm": fgsm, "bim": bim}[req["method"]]
    if b not in inputs:
        inputs[b] = (torch.rand(b, 3, args.size, args.size), torch.randint(0, 1000, (b,)))
    x, y = inputs[b]
    if (req["method"], b) not in warmed:
        method(x, y)
        warmed.add((req["method"], b))
    seconds = []
    for _ in range(reps):
        t = time.perf_counter()
        method(x, y)
        seconds.append(time.perf_counter() - t)
    print(json.dumps({"method": req["method"], "batch": b, "seconds": seconds}), flush=True)
