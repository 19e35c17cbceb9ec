#!/usr/bin/python3
"""Time to 90% test accuracy on Fashion-MNIST: onyx against PyTorch 1.13.

usage: bench/time_to_accuracy.py [--threads N] [--epochs N] [--target 0.90] [--markdown]
Both train the default CNN (conv-relu-pool twice, fc-relu-fc) with Adam (lr 0.001),
batches of 64 shuffled each epoch, and measure test accuracy after each epoch. Reported:
training seconds (evaluation excluded) until the first epoch at or above the target, and
samples/s. onyx runs `onyx train`; PyTorch runs the same loop in Python with the settings
bench/run.py uses (threads, OPENBLAS_NUM_THREADS, MALLOC_MMAP_THRESHOLD_). The two do not
start from the same random weights (each seeds its own initialiser), so the epoch at which
90% is reached may differ by one.
"""
import argparse
import gzip
import os
import re
import subprocess
import sys
import time

from table import print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"


def onyx_run(threads, epochs):
    out = subprocess.run([os.path.join(ROOT, "build", "apps", "onyx", "onyx"), "train", "--epochs", str(epochs),
                          "--threads", str(threads), "--quiet"], capture_output=True, text=True, check=True).stdout
    rows = []
    # "epoch 1/5: loss 0.47, val loss 0.35, val accuracy 0.8714 (8714/10000), 2723 samples/s, 22.0 s"
    line = r"epoch (\d+)/\d+: loss [\d.]+, (?:val loss [\d.]+, )?val accuracy ([\d.]+) .*?, ([\d.]+) samples/s, ([\d.]+) s"
    for m in re.finditer(line, out):
        rows.append((int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))))
    if not rows:  # a changed report format must fail here, not read as "never reached"
        sys.exit(f"time_to_accuracy.py: no epoch lines in onyx train's output:\n{out}")
    return rows


def load(split):
    import numpy as np
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return images, labels


def torch_run(threads, epochs):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from make_models import Cnn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xtr, ytr = (torch.from_numpy(a) for a in load("train"))
    xte, yte = (torch.from_numpy(a) for a in load("test"))
    model = Cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(ytr), generator=gen)
        t0 = time.perf_counter()
        for b in range(0, len(ytr), 64):
            idx = order[b:b + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                          for i in range(0, len(yte), 1000))
        rows.append((epoch, correct / len(yte), len(ytr) / secs, secs))
    return rows


def summary(rows, target):
    total = 0.0
    for epoch, acc, rate, secs in rows:
        total += secs
        if acc >= target:
            return epoch, acc, total, sum(r[2] for r in rows[:epoch]) / epoch
    return None, rows[-1][1] if rows else 0, total, sum(r[2] for r in rows) / max(1, len(rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.90)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    env_threads = str(args.threads)
    os.environ.update(OPENBLAS_NUM_THREADS=env_threads, OMP_NUM_THREADS=env_threads,
                      MALLOC_MMAP_THRESHOLD_=str(1 << 30))
    results = {"onyx": summary(onyx_run(args.threads, args.epochs), args.target)}
    if os.environ.get("ONYX_BENCH_CHILD") != "torch":
        # PyTorch in its own process, so that the environment above applies from its start.
        env = dict(os.environ, ONYX_BENCH_CHILD="torch")
        out = subprocess.run(["/usr/bin/python3", __file__, "--threads", env_threads, "--epochs", str(args.epochs),
                              "--target", str(args.target)], capture_output=True, text=True, env=env, check=True)
        results["PyTorch"] = eval(out.stdout.strip().splitlines()[-1])  # the child's summary tuple
    rows = []
    for name, (epoch, acc, secs, rate) in results.items():
        rows.append([name, str(args.threads), str(epoch) if epoch else f"not in {args.epochs}", f"{acc:.4f}",
                     f"{secs:.1f}", f"{rate:.0f}"])
    ratio = results["onyx"][2] / results["PyTorch"][2] if results["onyx"][0] and results["PyTorch"][0] else None
    header = ["framework", "threads", "epoch reaching target", "accuracy then", "train seconds to target",
              "samples/s"]
    print_table(header, rows, args.markdown)
    print(f"onyx/PyTorch time to {args.target:.0%}: {ratio:.2f}" if ratio else "ratio: n/a")


if __name__ == "__main__":
    if os.environ.get("ONYX_BENCH_CHILD") == "torch":
        a = sys.argv
        threads = int(a[a.index("--threads") + 1])
        epochs = int(a[a.index("--epochs") + 1])
        target = float(a[a.index("--target") + 1])
        print(repr(summary(torch_run(threads, epochs), target)))
    else:
        main()
