#!/usr/bin/python3
"""Exports the models onyx is tested and benchmarked on, with PyTorch 1.13 (Debian's
python3-torch), plus one fixed input and PyTorch's output for each, as .npy files.

usage: /usr/bin/python3 scripts/make_models.py OUT_DIR [--small-only] [--models a,b,...] [--train]

Writes OUT_DIR/<name>_op<opset>.onnx, <name>_op<opset>_input.npy and
<name>_op<opset>_output.npy for opsets 13 and 17. Weights are randomly initialised with
a fixed seed (nothing is downloaded). Models are exported in eval mode.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                                 nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)


class Cnn(nn.Module):
    """The default onyx CNN: conv-relu-pool twice, then fc-relu-fc, for 1x28x28 images."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, x):
        return self.encoder(x)


# name -> (constructor, input shape, small enough to commit)
MODELS = {
    "mlp": (Mlp, (64, 1, 28, 28), True),
    "cnn": (Cnn, (1, 1, 28, 28), True),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 224, 224), False),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224), False),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None), (1, 3, 224, 224), False),
    "transformer": (Encoder, (2, 16, 64), False),
}

# Bigger torchvision models for the benchmarks only (bench/run.py --models): generated on
# demand, never by default (the tests do not need them).
BENCH_MODELS = {
    "resnet50": (lambda: torchvision.models.resnet50(weights=None), (1, 3, 224, 224), False),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(weights=None), (1, 3, 224, 224), False),
    "densenet121": (lambda: torchvision.models.densenet121(weights=None), (1, 3, 224, 224), False),
    "convnext_tiny": (lambda: torchvision.models.convnext_tiny(weights=None), (1, 3, 224, 224), False),
    "shufflenet_v2": (lambda: torchvision.models.shufflenet_v2_x1_0(weights=None), (1, 3, 224, 224), False),
    "vit_b_16": (lambda: torchvision.models.vit_b_16(weights=None), (1, 3, 224, 224), False),
}


def model_entry(name):
    return MODELS[name] if name in MODELS else BENCH_MODELS[name]


def file_base(out_dir, name, opset, batch=None):
    """build/models/<name>_op<opset>[_b<batch>]: the batch suffix when it is not the model's own."""
    suffix = f"_b{batch}" if batch and batch != model_entry(name)[1][0] else ""
    return os.path.join(out_dir, f"{name}_op{opset}{suffix}")


def export(name, opset, out_dir, batch=None):
    ctor, shape, _ = model_entry(name)
    base = file_base(out_dir, name, opset, batch)
    if batch:
        shape = (batch, *shape[1:])
    torch.manual_seed(0)
    model = ctor().eval()
    if name in BENCH_MODELS:  # ViT's head starts at zero: its outputs would all be 0
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() >= 2 and not p.any():
                    p.normal_(0, 0.02, generator=torch.Generator().manual_seed(2))
    # Give BatchNorm layers non-trivial running statistics so that inference mode matters.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    tmp = base + ".onnx.tmp"
    torch.onnx.export(model, x, tmp, opset_version=opset, input_names=["input"], output_names=["output"],
                      do_constant_folding=True)
    os.replace(tmp, base + ".onnx")
    np.save(base + "_input.npy", x.numpy())
    np.save(base + "_output.npy", y.numpy())


def export_train(name, out_dir, batch=64):
    """<name>_train_op17.onnx: the model at batch `batch`, with a batch of inputs and class
    labels, for the training benchmarks (bench/train.py)."""
    ctor, shape, _ = MODELS[name]
    torch.manual_seed(0)
    model = ctor().train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, *shape[1:], generator=gen)
    labels = torch.randint(0, 10, (batch,), generator=gen)
    base = os.path.join(out_dir, f"{name}_train_op17")
    torch.onnx.export(model, x, base + ".onnx.tmp", opset_version=17, input_names=["input"],
                      output_names=["output"], training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False)
    os.replace(base + ".onnx.tmp", base + ".onnx")
    np.save(base + "_input.npy", x.numpy())
    np.save(base + "_labels.npy", labels.numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--small-only", action="store_true")
    ap.add_argument("--models", default="")
    ap.add_argument("--train", action="store_true", help="only the training-benchmark exports")
    ap.add_argument("--batch", type=int, default=0, help="export at this batch size (opset 17 only)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    names = args.models.split(",") if args.models else list(MODELS)
    torch.set_num_threads(1)
    if args.train:
        for name in args.models.split(",") if args.models else ["mlp", "cnn"]:
            export_train(name, args.out_dir)
        return
    for name in names:
        if args.small_only and not model_entry(name)[2]:
            continue
        if args.batch:
            export(name, 17, args.out_dir, args.batch)
            continue
        for opset in (13, 17) if name in MODELS else (17,):
            export(name, opset, args.out_dir)
            print(f"exported {name} opset {opset}", file=sys.stderr)


if __name__ == "__main__":
    main()
