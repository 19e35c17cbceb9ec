#!/usr/bin/python3
"""Reference runs for onyx's general training (losses, schedules, clipping, accumulation,
freezing, sequence and multi-input models, data from CSV and npz files), made with
PyTorch 1.13 and scikit-learn from Debian (python3-torch, python3-sklearn).

usage: /usr/bin/python3 scripts/make_fit_refs.py OUT_DIR

Writes into OUT_DIR:
  diabetes.csv        scikit-learn's bundled diabetes data: 10 feature columns, then
                      `target` (standardised); the regression cases read it in order
  two_inputs.npz      arrays a [N, 4], b [N, 3] and labels [N] for the two-input model
  <case>.onnx         the model, exported in training mode (dynamic batch)
  <case>.txt          a manifest of "<key> <file.npy>" lines (tests/autodiff/training_refs.h):
                        x, labels    stacked batches [steps, batch, ...] (cases not fed from
                                     a file)
                        init:<p>     initial parameter values (PyTorch's names)
                        losses       the loss of each of the STEPS steps
                        final:<p>    parameters after them
  images/{train,val}/<class>/*.png|jpg and resnet18.onnx: a small image folder (3 classes,
                      PNG and JPEG files) and a ResNet-18 for it, for the fine-tuning test
Every case's configuration is in CASES; tests/train/fit_test.cc mirrors it. Weights and
data are seeded; nothing is downloaded.
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image
from sklearn.datasets import load_diabetes

STEPS = 20
BATCH = 16


class RegMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x)


class ClassMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 5))

    def forward(self, x):
        return self.net(x)


class Tagger(nn.Module):
    """A transformer encoder layer and a per-position classifier: [N, T, D] -> [N, T, C]."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(16, 6)

    def forward(self, x):
        return self.head(self.encoder(x))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(3, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, a, b):
        return self.head(torch.relu(self.a(a) + self.b(b)))


def sgd(lr, **kw):
    return lambda params: torch.optim.SGD(params, lr=lr, **kw)


def adam(lr, **kw):
    return lambda params: torch.optim.Adam(params, lr=lr, **kw)


def chained(*makers):
    return lambda opt: torch.optim.lr_scheduler.ChainedScheduler([m(opt) for m in makers])


S = torch.optim.lr_scheduler
# case -> model, data, loss(pred, target), optimizer, and what else the step does:
#   schedule (a maker of a scheduler stepped after each optimizer step), clip_norm,
#   clip_value, accumulate (micro-batches per optimizer step), frozen (parameter prefixes).
CASES = {
    "reg_sgd": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.05)),
    "reg_l1": dict(model=RegMlp, data="csv", loss=F.l1_loss, opt=sgd(0.05)),
    "reg_huber": dict(model=RegMlp, data="csv", loss=lambda p, y: F.huber_loss(p, y, delta=0.5), opt=sgd(0.1)),
    "reg_smooth_l1": dict(model=RegMlp, data="csv", loss=lambda p, y: F.smooth_l1_loss(p, y, beta=0.5),
                          opt=sgd(0.1)),
    "reg_step": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.1),
                     schedule=lambda o: S.StepLR(o, step_size=5, gamma=0.5)),
    "reg_multistep": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.05, momentum=0.9),
                          schedule=lambda o: S.MultiStepLR(o, milestones=[3, 8, 15], gamma=0.3)),
    "reg_exponential": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=adam(0.02),
                            schedule=lambda o: S.ExponentialLR(o, gamma=0.9)),
    "reg_warmup_cosine": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.1),
                              schedule=chained(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=5),
                                               lambda o: S.CosineAnnealingLR(o, T_max=20))),
    "reg_clip_norm": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.1), clip_norm=0.5),
    "reg_clip_value": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=sgd(0.1), clip_value=0.05),
    "reg_accumulate": dict(model=RegMlp, data="csv", loss=F.mse_loss, opt=adam(0.01), accumulate=4),
    "ce_smooth": dict(model=ClassMlp, data="random", loss=lambda p, y: F.cross_entropy(p, y, label_smoothing=0.1),
                      opt=adam(0.01)),
    "soft_ce": dict(model=ClassMlp, data="soft", loss=lambda p, y: F.cross_entropy(p, y, label_smoothing=0.05),
                    opt=sgd(0.2)),
    "nll": dict(model=ClassMlp, data="random", loss=F.nll_loss, opt=sgd(0.05)),
    "bce": dict(model=ClassMlp, data="binary", loss=F.binary_cross_entropy_with_logits, opt=sgd(0.5)),
    "freeze": dict(model=ClassMlp, data="random", loss=F.cross_entropy, opt=sgd(0.1), frozen=["net.0."]),
    "tagger": dict(model=Tagger, data="sequence", loss=lambda p, y: F.cross_entropy(p.transpose(1, 2), y),
                   opt=sgd(0.05, momentum=0.9)),  # not Adam: the key bias gets a zero gradient, and
    # Adam would turn its rounding noise into steps of size lr on either side
    "two_inputs": dict(model=TwoInputs, data="npz", loss=F.cross_entropy, opt=sgd(0.1, momentum=0.9)),
}


def write_diabetes(out_dir):
    d = load_diabetes()
    y = (d.target - d.target.mean()) / d.target.std()
    names = list(d.feature_names) + ["target"]
    rows = np.concatenate([d.data, y[:, None]], axis=1).astype(np.float32)
    with open(os.path.join(out_dir, "diabetes.csv.tmp"), "w") as f:
        f.write(",".join(names) + "\n")
        for r in rows:
            f.write(",".join("%.9g" % v for v in r) + "\n")
    os.replace(os.path.join(out_dir, "diabetes.csv.tmp"), os.path.join(out_dir, "diabetes.csv"))
    return rows


def write_two_inputs(out_dir):
    g = np.random.default_rng(3)
    n = STEPS * BATCH
    a = g.standard_normal((n, 4)).astype(np.float32)
    b = g.standard_normal((n, 3)).astype(np.float32)
    labels = ((a[:, 0] + b[:, 0] > 0).astype(np.int64) + (a[:, 1] > 1).astype(np.int64))
    np.savez_compressed(os.path.join(out_dir, "two_inputs.npz"), a=a, b=b, labels=labels)
    return a, b, labels


def batches(case, out_dir, csv_rows, two):
    """The STEPS batches as lists of input tensors, and their targets."""
    kind = CASES[case]["data"]
    gen = torch.Generator().manual_seed(1)
    if kind == "csv":
        x = torch.from_numpy(csv_rows[:STEPS * BATCH, :10].copy()).reshape(STEPS, BATCH, 10)
        y = torch.from_numpy(csv_rows[:STEPS * BATCH, 10].copy()).reshape(STEPS, BATCH, 1)
        return [[x[s]] for s in range(STEPS)], y, None
    if kind == "npz":
        a, b, labels = (torch.from_numpy(v) for v in two)
        return ([[a[s * BATCH:(s + 1) * BATCH], b[s * BATCH:(s + 1) * BATCH]] for s in range(STEPS)],
                labels.reshape(STEPS, BATCH), None)
    if kind == "sequence":
        x = torch.randn(STEPS, 4, 8, 16, generator=gen)
        y = torch.randint(0, 6, (STEPS, 4, 8), generator=gen)
        return [[x[s]] for s in range(STEPS)], y, x
    x = torch.randn(STEPS, BATCH, 12, generator=gen)
    if kind == "random":
        y = torch.randint(0, 5, (STEPS, BATCH), generator=gen)
    elif kind == "soft":
        y = torch.softmax(2 * torch.randn(STEPS, BATCH, 5, generator=gen), dim=-1)
    else:  # binary: independent 0/1 targets
        y = (torch.rand(STEPS, BATCH, 5, generator=gen) > 0.5).float()
    return [[x[s]] for s in range(STEPS)], y, x


def make_case(name, out_dir, csv_rows, two):
    c = CASES[name]
    torch.manual_seed(0)
    model = c["model"]().train()
    # Distinct LayerNorm affine values: tests find initializers by value, and ones and
    # zeros would be shared by every LayerNorm.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    inputs, targets, stacked = batches(name, out_dir, csv_rows, two)
    names = ["a", "b"] if c["data"] == "npz" else ["x"]
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, tuple(inputs[0]), path + ".tmp", opset_version=17, input_names=names,
                      output_names=["out"], training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      dynamic_axes={**{n: {0: "batch"} for n in names}, "out": {0: "batch"}})
    os.replace(path + ".tmp", path)
    manifest = []

    def save(key, array):
        file = f"{name}_{len(manifest)}.npy"
        np.save(os.path.join(out_dir, file), array)
        manifest.append(f"{key} {file}")

    frozen = c.get("frozen", [])
    for pname, p in model.named_parameters():
        save("init:" + pname, p.detach().numpy())
        p.requires_grad_(not any(pname.startswith(f) for f in frozen))
    if stacked is not None:
        save("x", stacked.numpy())
        save("labels", targets.numpy())
    opt = c["opt"]([p for p in model.parameters() if p.requires_grad])
    sched = c["schedule"](opt) if "schedule" in c else None
    accumulate = c.get("accumulate", 1)
    losses = []
    opt.zero_grad()
    for s in range(STEPS):
        loss = c["loss"](model(*inputs[s]), targets[s])
        losses.append(loss.item())
        (loss / accumulate).backward()
        if (s + 1) % accumulate:
            continue
        if "clip_value" in c:
            torch.nn.utils.clip_grad_value_(model.parameters(), c["clip_value"])
        if "clip_norm" in c:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip_norm"])
        opt.step()
        opt.zero_grad()
        if sched:
            sched.step()
    save("losses", np.array(losses, dtype=np.float32))
    for pname, p in model.named_parameters():
        save("final:" + pname, p.detach().numpy())
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def write_images(out_dir):
    """Three classes of 64x64 pictures: a red, green or blue square at a random place on
    noise; train has 20 of each, val 10; even-numbered files are PNG, odd ones JPEG."""
    g = np.random.default_rng(5)
    for split, count in (("train", 20), ("val", 10)):
        for k, cls in enumerate(["blue", "green", "red"]):
            d = os.path.join(out_dir, "images", split, cls)
            os.makedirs(d, exist_ok=True)
            for i in range(count):
                px = g.integers(0, 90, (64, 64, 3)).astype(np.uint8)
                r, c = g.integers(0, 32, 2)
                px[r:r + 32, c:c + 32, 2 - k] = 230
                ext = "png" if i % 2 == 0 else "jpg"
                Image.fromarray(px).save(os.path.join(d, f"{i:03d}.{ext}"), quality=95)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=3).train()
    path = os.path.join(out_dir, "resnet18.onnx")
    torch.onnx.export(model, torch.randn(2, 3, 64, 64), path + ".tmp", opset_version=17, input_names=["input"],
                      output_names=["logits"], training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(path + ".tmp", path)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    csv_rows = write_diabetes(out_dir)
    two = write_two_inputs(out_dir)
    for name in CASES:
        make_case(name, out_dir, csv_rows, two)
    write_images(out_dir)
    print(f"made {len(CASES)} cases and the image folder in {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
