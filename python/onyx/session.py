"""onyx.InferenceSession: onnxruntime's Python API over onyx's runtime, so that code written
for onnxruntime.InferenceSession runs by changing its import."""
import enum

from . import _onyx
from ._model import as_model


class NodeArg:
    """An input or output: name, shape (ints, symbolic dims as str, unknown as None) and
    type ("tensor(float)"), as onnxruntime.NodeArg."""

    __slots__ = ("name", "shape", "type")

    def __init__(self, name, shape, type):  # noqa: A002 (onnxruntime's name)
        self.name, self.shape, self.type = name, shape, type

    def __repr__(self):
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


class GraphOptimizationLevel(enum.IntEnum):
    """onnxruntime's levels. onyx's rewrites (activation and SiLU fusion, blocked layouts
    for convolutions) are all on above ORT_DISABLE_ALL; they change no result beyond
    float rounding."""

    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class SessionOptions:
    """The onnxruntime.SessionOptions fields onyx reads: intra_op_num_threads (0: one
    thread per core) and graph_optimization_level (ORT_DISABLE_ALL runs every node as
    written). Others may be set and are ignored."""

    def __init__(self):
        self.intra_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL


class InferenceSession:
    """A model planned once and run many times.

    InferenceSession(path_or_bytes, sess_options=None, providers=None, threads=None):
    the model is a path, bytes, an onnx.ModelProto or an onyx.Model; `providers` is
    accepted for onnxruntime compatibility (onyx runs on the CPU); `threads` overrides
    sess_options.intra_op_num_threads.

    run(output_names, input_feed) returns a list of NumPy arrays (lists for sequences,
    None for empty optionals); output_names None means every output. Inputs are not
    copied when they are C-contiguous arrays of the declared dtype; outputs own the
    runtime's buffers. The GIL is released while the model runs, and several threads may
    call run on one session (runs take the session's lock one at a time)."""

    def __init__(self, path_or_bytes, sess_options=None, providers=None, threads=None, **kwargs):
        if threads is None:
            threads = getattr(sess_options, "intra_op_num_threads", 0) if sess_options else 0
        level = getattr(sess_options, "graph_optimization_level", GraphOptimizationLevel.ORT_ENABLE_ALL)
        self._model = as_model(path_or_bytes)
        self._session = _onyx.Session(self._model, int(threads),
                                      int(level) != GraphOptimizationLevel.ORT_DISABLE_ALL)
        self._inputs = [NodeArg(*d) for d in self._session.inputs]
        self._outputs = [NodeArg(*d) for d in self._session.outputs]

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_providers(self):
        return ["CPUExecutionProvider"]

    def run(self, output_names, input_feed, run_options=None):
        return self._session.run(output_names, dict(input_feed))

    @property
    def model(self):
        """The onyx.Model this session runs."""
        return self._model
