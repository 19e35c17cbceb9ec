#!/usr/bin/python3
"""onyx against onnxruntime and PyTorch, back to back, at 1 and 2 threads.

usage: bench/run.py [--models mlp,cnn,...] [--batches 1,16] [--threads 1,2] [--iters N]
                    [--markdown]
Generates the models (scripts/make_models.py; the bigger torchvision ones of BENCH_MODELS
too, when named) into build/models if missing, at each batch size, and builds nothing:
run scripts/setup first. Each peer runs in its own process, one after another, so they do
not compete for the two cores. PyTorch runs with OPENBLAS_NUM_THREADS and torch threads set
and a raised MALLOC_MMAP_THRESHOLD_ (its allocator thrashes on conv nets otherwise).
Peak memory is what each process's resident set grew by from just before the model was
loaded to the end of its timed runs (bench/peak_memory.*).
"""
import argparse
import json
import os
import subprocess
import sys

from table import print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "build", "models")
DEFAULT = ["mlp", "cnn", "resnet18", "mobilenet_v2", "squeezenet1_1", "transformer"]


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(DEFAULT))
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--batches", default="", help="batch sizes (default: each model's own)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    names = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")] if args.batches else [None]
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from make_models import file_base  # noqa: E402 (imports torch: only when running)
    for batch in batches:
        missing = [n for n in names if not os.path.exists(file_base(MODELS_DIR, n, args.opset, batch) + ".onnx")]
        if missing:
            cmd = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_models.py"), MODELS_DIR,
                   "--models", ",".join(missing)]
            subprocess.run(cmd + (["--batch", str(batch)] if batch else []), check=True, capture_output=True)
    onyx = os.path.join(ROOT, "build", "bench", "onyx_bench")
    rows = []
    for name, batch in [(n, b) for n in names for b in batches]:
        base = file_base(MODELS_DIR, name, args.opset, batch)
        shown = f"{name} b{batch}" if batch else name
        for threads in [int(t) for t in args.threads.split(",")]:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                       MALLOC_MMAP_THRESHOLD_=str(1 << 30))
            r_onyx, e1 = run([onyx, base + ".onnx", base + "_input.npy", str(threads), str(args.iters)])
            r_ort, e2 = run(["node", os.path.join(ROOT, "bench", "ort_bench.js"), base + ".onnx", base + "_input.npy",
                             str(threads), str(args.iters)])
            r_torch, e3 = run(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_bench.py"), name,
                               base + "_input.npy", str(threads), str(args.iters)], env=env)
            rows.append((shown, threads, r_onyx, r_ort, r_torch, e1 or e2 or e3))
            print(f"{shown} x{threads}: onyx {r_onyx} ort {r_ort} torch {r_torch}", file=sys.stderr)

    def fmt(r, key, digits=2):
        return f"{r[key]:.{digits}f}" if r else "n/a"

    def ratio(a, b):
        return f"{a['median_ms'] / b['median_ms']:.2f}" if a and b else "n/a"

    header = ["model", "threads", "onyx ms", "onnxruntime ms", "PyTorch ms", "onyx/ort", "onyx/torch",
              "onyx MB", "onnxruntime MB", "PyTorch MB"]
    lines = [[n, str(t), fmt(a, "median_ms"), fmt(b, "median_ms"), fmt(c, "median_ms"), ratio(a, b), ratio(a, c),
              fmt(a, "peak_mb", 0), fmt(b, "peak_mb", 0), fmt(c, "peak_mb", 0)] for n, t, a, b, c, _ in rows]
    print_table(header, lines, args.markdown)
    for n, t, *_, err in rows:
        if err:
            print(f"note: {n} x{t}: {err}", file=sys.stderr)


if __name__ == "__main__":
    main()
