#!/usr/bin/python3
"""Times one training step in PyTorch 1.13: torch_train_bench.py NAME INPUT.npy LABELS.npy
THREADS ITERS OPTIMIZER. The same module as scripts/make_models.py (same seed) in train
mode; a step is zero_grad, forward, cross-entropy, backward, optimizer step, as in a
training loop. Prints {"median_ms": ..., "first_loss": ..., "last_loss": ...,
"peak_mb": ...} (peak_mb: see peak_memory.py)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from peak_memory import mark  # noqa: E402
from make_models import MODELS  # noqa: E402


def main():
    name, x_path, y_path = sys.argv[1], sys.argv[2], sys.argv[3]
    threads, iters, optimizer = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    memory = mark()
    model = MODELS[name][0]().train()
    x = torch.from_numpy(np.load(x_path))
    y = torch.from_numpy(np.load(y_path))
    opt = (torch.optim.Adam(model.parameters(), lr=0.001) if optimizer == "adam" else
           torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9 if optimizer == "momentum" else 0))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    first = step()
    for _ in range(2):
        step()
    times = []
    last = 0
    for _ in range(iters):
        t0 = time.perf_counter()
        last = step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "first_loss": first, "last_loss": last,
                      "peak_mb": memory()}))


if __name__ == "__main__":
    main()
