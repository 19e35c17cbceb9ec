"""Every error kind reaches Python as its onyx.Error subclass with the library's message."""
import os

import numpy as np
import pytest

import onyx
from conftest import MODELS, node_case


def test_kinds_are_subclasses():
    for cls, builtin in [(onyx.InvalidModel, ValueError), (onyx.InvalidArgument, ValueError),
                         (onyx.Unsupported, NotImplementedError), (onyx.IoError, OSError),
                         (onyx.ResourceLimit, MemoryError)]:
        assert issubclass(cls, onyx.Error) and issubclass(cls, builtin)
    assert issubclass(onyx.Error, RuntimeError)


def test_io_error_names_the_file(tmp_path):
    with pytest.raises(onyx.IoError, match="nowhere.onnx"):
        onyx.InferenceSession(str(tmp_path / "nowhere.onnx"))


def test_invalid_model():
    with pytest.raises(onyx.InvalidModel, match="not a valid ONNX model"):
        onyx.InferenceSession(b"this is not a protobuf")


def test_wrong_feeds_say_which_input():
    sess = onyx.InferenceSession(os.path.join(MODELS, "mlp_op17.onnx"))
    x = np.load(os.path.join(MODELS, "mlp_op17_input.npy"))
    with pytest.raises(onyx.InvalidArgument, match="input"):
        sess.run(None, {"input": x.astype(np.float64)})
    with pytest.raises(onyx.InvalidArgument, match="nope"):
        sess.run(None, {"nope": x})
    with pytest.raises(onyx.InvalidArgument, match="'absent' is not an output"):
        sess.run(["absent"], {"input": x})
    with pytest.raises(onyx.InvalidArgument):
        sess.run(None, {"input": x[:, :, :5]})


def test_unsupported_op(tmp_path):
    model = onyx.Model.load(node_case("test_abs"))
    data = model.to_bytes().replace(b"Abs", b"Zzz")
    with pytest.raises(onyx.Unsupported, match="unknown op 'Zzz'"):
        onyx.InferenceSession(data)


def test_resource_limit():
    # ConstantOfShape asked for 10^12 floats (4 TB): refused before any allocation.
    sess = onyx.InferenceSession(node_case("test_constantofshape_float_ones"))
    with pytest.raises(onyx.ResourceLimit):
        sess.run(None, {"x": np.array([10000, 10000, 10000], dtype=np.int64)})


def test_bad_training_options():
    with pytest.raises(onyx.InvalidArgument, match="unknown keyword argument"):
        onyx.autodiff.make_training(os.path.join(MODELS, "training", "mlp.onnx"), learning_rate=1)
    with pytest.raises(onyx.InvalidArgument, match="unknown optimizer 'lbfgs'"):
        onyx.autodiff.make_training(os.path.join(MODELS, "training", "mlp.onnx"), optimizer="lbfgs")
    with pytest.raises(onyx.InvalidArgument, match="a model is a path"):
        onyx.InferenceSession(42)
