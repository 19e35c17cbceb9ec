"""Gradient graphs and training steps as ONNX models (the library's autodiff module)."""
from . import _onyx
from ._model import as_model, returned


def grad_model(model, wrt=None, opset=0, as_type="model"):
    """The model's gradient (VJP) graph, as `onyx grad` writes it: the model's inputs plus a
    seed input "<Y>_grad" per floating-point output; outputs the model's and "<W>_grad" per
    parameter in `wrt` (default: every floating-point initializer)."""
    return returned(_onyx.grad_model(as_model(model), list(wrt or []), opset), as_type)


def make_training(model, training_info=False, as_type="model", **options):
    """A whole training step (forward, loss, backward, optimizer update) as one ONNX graph,
    as `onyx make-training` writes it; with training_info=True the model itself carrying
    the step as TrainingInfoProto. Options are make-training's flags: loss, optimizer, lr,
    momentum, weight_decay, lr_schedule, clip_grad_norm, accumulate, freeze, train_only..."""
    return returned(_onyx.make_training(as_model(model), training_info, **options), as_type)
