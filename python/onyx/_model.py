"""Models as onyx takes them: a path, serialized bytes, an onnx.ModelProto or an onyx.Model."""
import os

from . import _onyx

Model = _onyx.Model


def as_model(model):
    """The onyx.Model for a path (str or os.PathLike), bytes, an onnx.ModelProto (anything
    with SerializeToString) or an onyx.Model."""
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return Model.load(os.fspath(model))
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Model.from_bytes(bytes(model))
    if hasattr(model, "SerializeToString"):
        return Model.from_bytes(model.SerializeToString())
    raise _onyx.InvalidArgument(
        f"a model is a path, bytes, an onnx.ModelProto or an onyx.Model, not {type(model).__name__}")


def returned(model, as_type):
    """`model` (an onyx.Model) as the caller asked: "model", "bytes" or "proto"."""
    if as_type == "model":
        return model
    if as_type == "bytes":
        return model.to_bytes()
    if as_type == "proto":
        import onnx  # only when asked for

        return onnx.load_from_string(model.to_bytes())
    raise _onyx.InvalidArgument(f"as_type must be 'model', 'bytes' or 'proto', not {as_type!r}")


def _session(self, **kwargs):
    """An InferenceSession on this model."""
    from .session import InferenceSession

    return InferenceSession(self, **kwargs)


Model.session = _session
