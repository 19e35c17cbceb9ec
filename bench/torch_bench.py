#!/usr/bin/python3
"""Times one model in PyTorch 1.13 (eval, no_grad): torch_bench.py NAME INPUT.npy THREADS ITERS.
Builds the same module as scripts/make_models.py (same seed); prints
{"median_ms": ..., "peak_mb": ...} (peak_mb: see peak_memory.py)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from peak_memory import mark  # noqa: E402
from make_models import model_entry  # noqa: E402


def main():
    name, input_path, threads, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    memory = mark()
    model = model_entry(name)[0]().eval()
    x = torch.from_numpy(np.load(input_path))
    times = []
    with torch.no_grad():
        for _ in range(3):
            model(x)
        for _ in range(iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "peak_mb": memory()}))


if __name__ == "__main__":
    main()
