#!/usr/bin/python3
"""Training steps: onyx against PyTorch, back to back, at 1 and 2 threads.

usage: bench/train.py [--models mlp,cnn] [--optimizers momentum,adam] [--iters N] [--markdown]
A step is forward, cross-entropy, backward and optimizer update on a batch of 64 (the
models of scripts/make_models.py --train, same weights on both sides). onyx runs the step
graph `onyx make-training` writes, with parameters and state bound in the session;
PyTorch runs its usual loop (zero_grad, forward, loss, backward, step) with the settings
bench/run.py uses. Both print their first and last losses, which must agree: the same
computation, not just the same speed. onnxruntime is not here: it cannot take a training
step by itself, and onnxruntime-node cannot carry state held in initializers (see
docs/CLI.md). Peak memory is what each process's resident set grew by from just before the
model was loaded to the end of its timed steps (bench/peak_memory.*).
"""
import argparse
import json
import os
import subprocess
import sys

from table import print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "build", "models")


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--optimizers", default="momentum,adam")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    names = args.models.split(",")
    if any(not os.path.exists(os.path.join(MODELS_DIR, f"{n}_train_op17.onnx")) for n in names):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_models.py"), MODELS_DIR,
                        "--train", "--models", ",".join(names)], check=True, capture_output=True)
    rows = []
    for name in names:
        base = os.path.join(MODELS_DIR, f"{name}_train_op17")
        for opt in args.optimizers.split(","):
            for threads in (1, 2):
                env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                           MALLOC_MMAP_THRESHOLD_=str(1 << 30))
                common = [base + "_input.npy", base + "_labels.npy", str(threads), str(args.iters), opt]
                onyx, e1 = run([os.path.join(ROOT, "build", "bench", "onyx_train_bench"), base + ".onnx"] + common)
                torch, e2 = run(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_train_bench.py"), name]
                                + common, env=env)
                rows.append((name, opt, threads, onyx, torch, e1 or e2))
                print(f"{name} {opt} x{threads}: onyx {onyx} torch {torch}", file=sys.stderr)

    def ms(r):
        return f"{r['median_ms']:.2f}" if r else "n/a"

    def losses(r):
        return f"{r['first_loss']:.4f} / {r['last_loss']:.4g}" if r else "n/a"

    header = ["model", "optimizer", "threads", "onyx ms/step", "PyTorch ms/step", "onyx/torch",
              "onyx loss first/last", "PyTorch loss first/last", "onyx MB", "PyTorch MB"]

    def mb(r):
        return f"{r['peak_mb']:.0f}" if r else "n/a"

    lines = [[n, o, str(t), ms(a), ms(b), f"{a['median_ms'] / b['median_ms']:.2f}" if a and b else "n/a",
              losses(a), losses(b), mb(a), mb(b)] for n, o, t, a, b, _ in rows]
    print_table(header, lines, args.markdown)
    for n, o, t, *_, err in rows:
        if err:
            print(f"note: {n} {o} x{t}: {err}", file=sys.stderr)


if __name__ == "__main__":
    main()
