"""onyx: declare, train, run and ship neural networks whose one model format is ONNX.

This package is a thin layer over onyx's C++ library (the extension module onyx._onyx):
every computation happens there, the same code the `onyx` command line runs.

    import onyx
    sess = onyx.InferenceSession("model.onnx")          # as onnxruntime's
    outputs = sess.run(None, {"input": x})
    result = onyx.train.fit("model.onnx", (x, y), epochs=5, loss="cross-entropy")
    result.model.save("trained.onnx")
"""
from . import _onyx
from ._model import Model, as_model
from ._onyx import Error, InvalidArgument, InvalidModel, IoError, ResourceLimit, Unsupported
from .session import GraphOptimizationLevel, InferenceSession, NodeArg, SessionOptions
from . import autodiff, np, train
from ._onyx import nn
from ._onyx import grad, jit, to_onnx, value_and_grad
from ._onyx import limits, set_limits

__version__ = _onyx.__version__

__all__ = [
    "Error", "InvalidArgument", "InvalidModel", "IoError", "ResourceLimit", "Unsupported",
    "GraphOptimizationLevel", "InferenceSession", "NodeArg", "SessionOptions", "Model", "as_model", "autodiff", "nn", "np", "train",
    "grad", "value_and_grad", "jit", "to_onnx", "limits", "set_limits",
    "__version__",
]
