"""Training from Python: fit, evaluate and predict through the C++ trainer that
`onyx train` runs, on NumPy arrays or any path `onyx train --data` takes."""
import sys

import numpy as np

from . import _onyx
from ._model import as_model, returned


class FitResult:
    """What fit returns: `.model` (the trained onyx.Model, without training information),
    `.history` (per-epoch lists: "loss" on the training data, "val_loss" and "val_<metric>"
    on the validation data, as Keras' History.history) and `.stopped_early`."""

    def __init__(self, model, history, stopped_early):
        self.model, self.history, self.stopped_early = model, history, stopped_early

    def __repr__(self):
        return f"FitResult(epochs={len(self.history.get('loss', []))}, history={self.history})"


def _feeds(data, model):
    """Named arrays for the model: a dict passes as it is; (x, y) maps x (an array, or a
    list of arrays for several inputs, in order) to the inputs and y to "labels"."""
    if data is None or isinstance(data, (str, dict)):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        names = [name for name, _, _ in model.inputs]
        if len(xs) != len(names):
            raise _onyx.InvalidArgument(
                f"the model takes {len(names)} input(s) ({', '.join(names)}), the data gives {len(xs)}")
        feeds = {name: np.asarray(v) for name, v in zip(names, xs)}
        feeds["labels"] = np.asarray(y)
        return feeds
    raise _onyx.InvalidArgument("data is a path, a dict of arrays by feed name, or a tuple (x, y)")


class _Progress:
    """A tqdm bar per epoch when tqdm is installed, else a line per tenth of an epoch."""

    def __init__(self):
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        self.tqdm, self.bar, self.epoch = tqdm, None, 0

    def __call__(self, epoch, epochs, batch, batches, loss, samples_per_s):
        if self.tqdm is not None:
            if epoch != self.epoch:
                self.close()
                self.bar = self.tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", leave=True)
                self.epoch = epoch
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif batch % max(1, batches // 10) == 0 or batch == batches:
            print(f"epoch {epoch}/{epochs}: batch {batch}/{batches}, loss {loss:.4f}, "
                  f"{samples_per_s:.0f} samples/s", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def fit(model, data, epochs=5, batch_size=64, optimizer="adam", lr=None, loss="cross-entropy",
        metrics=("accuracy",), validation_data=None, checkpoint_dir=None, resume=None,
        progress=True, as_type="model", **options):
    """Trains `model` (a path, bytes, onnx.ModelProto or onyx.Model) on `data` and returns
    a FitResult.

    data and validation_data: a tuple (x, y), a dict of arrays named like the model's
    inputs (and "labels"), or a path as `onyx train --data` takes it (.npz, .csv, an image
    folder, an IDX directory). Other options are onyx train's flags with underscores:
    validation_split, seed, threads, drop_last, monitor, early_stop, label_smoothing,
    lr_schedule, clip_grad_norm, clip_grad_value, accumulate, freeze, train_only,
    eval_mode, class_axis, weight_decay, momentum, ...; progress=True shows a bar, False
    nothing, or a callable(epoch, epochs, batch, batches, loss, samples_per_s). The result's
    .model is an onyx.Model, or bytes / an onnx.ModelProto with as_type="bytes" / "proto"."""
    m = as_model(model)
    show = _Progress() if progress is True else (progress or None)
    try:
        trained, history, stopped = _onyx.fit(
            m, _feeds(data, m), _feeds(validation_data, m), show, epochs=epochs,
            batch_size=batch_size, optimizer=optimizer, lr=lr, loss=loss, metrics=list(metrics),
            checkpoint_dir=checkpoint_dir, resume=resume, **options)
    finally:
        if isinstance(show, _Progress):
            show.close()
    return FitResult(returned(trained, as_type), history, stopped)


def evaluate(model, data, metrics=("accuracy",), **options):
    """{metric: value} of `model` on `data` (as fit takes it); "loss" is options' loss."""
    m = as_model(model)
    return _onyx.evaluate(m, _feeds(data, m), metrics=list(metrics), **options)


def predict(model, data, output="", threads=0, batch_size=256):
    """The output (default: the first floating-point one) for every sample of `data`: an
    array, or a dict or tuple (x, y) as fit takes it, or a path."""
    m = as_model(model)
    if isinstance(data, np.ndarray):
        data = {m.inputs[0][0]: data}
    elif isinstance(data, tuple):
        data = _feeds(data, m)
    return _onyx.predict(m, data, output, threads, batch_size)
