#!/usr/bin/python3
"""Reference numbers for onyx's training tests, made with PyTorch 1.13 (Debian's
python3-torch): whole-model gradients of a loss, and losses and parameters over several
optimizer steps, for small models exported to ONNX in training mode.

usage: /usr/bin/python3 scripts/make_training_refs.py OUT_DIR

For each case writes OUT_DIR/<case>.onnx and a manifest OUT_DIR/<case>.txt of lines
"<key> <file.npy>", where key is one of
  x, labels           the batches, stacked: [steps, batch, ...]
  loss                PyTorch's loss on batch 0 from the initial weights
  init:<param>        the parameter's initial value (PyTorch's name; tests find the ONNX
                      initializer holding the same value, as export may rename)
  grad:<param>        the gradient of that loss
  losses:<optimizer>  the loss of each step of <optimizer> (see optimizer()), one per batch
  final:<optimizer>:<param>  the parameter after those steps
Weights are random with a fixed seed; nothing is downloaded.
"""
import os
import sys
import warnings
from typing import List

import numpy as np
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 5))

    def forward(self, x):
        return self.net(x)


class CnnBn(nn.Module):
    """Conv-BatchNorm-ReLU-pool, then Dropout and a linear head. Dropout's p is 0 so that
    the step is deterministic: the graph still holds Dropout in training mode."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(p=0.0), nn.Linear(6 * 2 * 2, 3))

    def forward(self, x):
        return self.head(self.features(x))


class ResBlock(nn.Module):
    """A ResNet basic block (conv-bn-relu-conv-bn, identity shortcut) with a stem and a head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.block = BasicBlock(8, 8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


class Lstm(nn.Module):
    """An LSTM over 4 steps (exported as ONNX LSTM) and a linear head on its last output."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y[:, -1])


class Recurrence(nn.Module):
    """h <- tanh(cell(x_t) + rec(h)) and a linear head: the loops below differ only in how
    they iterate, which is what each exports as."""

    def __init__(self):
        super().__init__()
        self.cell = nn.Linear(5, 6)
        self.rec = nn.Linear(6, 6)
        self.head = nn.Linear(6, 3)

    def step(self, x_t, h):
        return torch.tanh(self.cell(x_t) + self.rec(h))


class LoopRnn(Recurrence):
    """Over the sequence, scripted: the for loop stays an ONNX Loop whose trip count is
    x.size(1)."""

    def forward(self, x):
        h = torch.zeros(x.size(0), 6)
        for t in range(x.size(1)):
            h = self.step(x[:, t], h)
        return self.head(h)


class ListRnn(Recurrence):
    """Every step's state collected in a list and stacked, scripted: an ONNX Loop carrying a
    sequence (SequenceInsert), then ConcatFromSequence."""

    def forward(self, x):
        h = torch.zeros(x.size(0), 6)
        states: List[torch.Tensor] = []
        for t in range(x.size(1)):
            h = self.step(x[:, t], h)
            states.append(h)
        return self.head(torch.stack(states, 1).mean(1))


class WhileRnn(Recurrence):
    """Run while the state stays small (1 to 3 steps on the fixture batches, at most
    x.size(1)), scripted: an ONNX Loop whose condition depends on the data, so it cannot be
    unrolled."""

    def forward(self, x):
        h = torch.zeros(x.size(0), 6)
        t = 0
        while t < x.size(1) and bool(h.abs().mean() < 0.43):
            h = self.step(x[:, t], h)
            t += 1
        return self.head(h)


STEPS = 20
# case -> (constructor, one input's shape, classes, optimizers to run)
CASES = {
    "mlp": (Mlp, (12,), 5, ["sgd", "momentum", "nesterov", "adagrad", "adam", "adamw"]),
    "cnn_bn": (CnnBn, (2, 8, 8), 3, ["sgd"]),
    "resblock": (ResBlock, (3, 6, 6), 4, ["sgd", "adam"]),
    "lstm": (Lstm, (4, 5), 3, ["adam"]),
    "loop": (LoopRnn, (4, 5), 3, ["sgd"]),
    "list": (ListRnn, (4, 5), 3, ["adam"]),
    "while": (WhileRnn, (4, 5), 3, ["sgd"]),
}
SCRIPTED = {"loop", "list", "while"}  # exported through torch.jit.script
BATCH = 6


def optimizer(name, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1)
    if name == "momentum":
        return torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=0.05, momentum=0.8, nesterov=True)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=0.1)
    if name == "adam":
        return torch.optim.Adam(params, lr=0.01)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=0.01, weight_decay=0.1)
    raise ValueError(name)


def make_case(name, out_dir):
    ctor, shape, classes, optimizers = CASES[name]
    torch.manual_seed(0)
    model = ctor().train()
    # Distinct BatchNorm affine values: tests find initializers by value, and ones and
    # zeros would be shared by every BatchNorm.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(1)
    xs = torch.randn(STEPS, BATCH, *shape, generator=gen)
    labels = torch.randint(0, classes, (STEPS, BATCH), generator=gen)
    path = os.path.join(out_dir, name + ".onnx")
    exported = torch.jit.script(model) if name in SCRIPTED else model
    torch.onnx.export(exported, xs[0], path + ".tmp", opset_version=17, input_names=["x"], output_names=["logits"],
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(path + ".tmp", path)
    model.load_state_dict(init)  # the export ran a forward pass that moved running stats
    manifest = []

    def save(key, array):
        file = f"{name}_{len(manifest)}.npy"
        np.save(os.path.join(out_dir, file), array)
        manifest.append(f"{key} {file}")

    for pname, p in model.named_parameters():
        save("init:" + pname, p.detach().numpy())
    save("x", xs.numpy())
    save("labels", labels.numpy())
    loss = nn.functional.cross_entropy(model(xs[0]), labels[0])
    loss.backward()
    save("loss", np.array(loss.item(), dtype=np.float32))
    for pname, p in model.named_parameters():
        save("grad:" + pname, p.grad.numpy())
    for opt_name in optimizers:
        model.load_state_dict(init)
        opt = optimizer(opt_name, model.parameters())
        losses = []
        for s in range(STEPS):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xs[s]), labels[s])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        save("losses:" + opt_name, np.array(losses, dtype=np.float32))
        for pname, p in model.named_parameters():
            save(f"final:{opt_name}:{pname}", p.detach().numpy())
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)  # exporter notes on BN and LSTM
    for name in CASES:
        make_case(name, out_dir)
        print(f"made {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
