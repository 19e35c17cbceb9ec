"""ai.onnx.ml's map ops through the Python session: ZipMap gives one dict per row (as
onnxruntime does), DictVectorizer and CastMap take dicts."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import onyx


def map_type(key, value):
    """onnx 1.12's helper has no make_map_type_proto: map(key, tensor(value)) by hand."""
    t = onnx.TypeProto()
    t.map_type.key_type = key
    t.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(value, []))
    return t


def ml_model(node, inputs, outputs):
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    return model.SerializeToString()


def test_zipmap_gives_one_dict_per_row():
    node = helper.make_node("ZipMap", ["x"], ["z"], domain="ai.onnx.ml",
                            classlabels_strings=["cat", "dog", "owl"])
    seq = helper.make_sequence_type_proto(map_type(TensorProto.STRING, TensorProto.FLOAT))
    model = ml_model(node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                     [helper.make_value_info("z", seq)])
    x = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], np.float32)
    (z,) = onyx.InferenceSession(model).run(None, {"x": x})
    assert z == [{"cat": pytest.approx(0.1), "dog": pytest.approx(0.7), "owl": pytest.approx(0.2)},
                 {"cat": 0.5, "dog": 0.25, "owl": 0.25}]
    node = helper.make_node("ZipMap", ["x"], ["z"], domain="ai.onnx.ml", classlabels_int64s=[4, 9])
    model = ml_model(node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                     [helper.make_value_info("z", seq)])
    with pytest.raises(onyx.Error, match=r"must be float \[N, 2\]"):
        onyx.InferenceSession(model).run(None, {"x": x})


def test_dict_vectorizer_and_cast_map_take_dicts():
    node = helper.make_node("DictVectorizer", ["m"], ["y"], domain="ai.onnx.ml",
                            string_vocabulary=["a", "c", "b", "z"])
    m_type = map_type(TensorProto.STRING, TensorProto.FLOAT)
    model = ml_model(node, [helper.make_value_info("m", m_type)],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    (y,) = onyx.InferenceSession(model).run(None, {"m": {"a": np.float32(4), "c": np.float32(8)}})
    np.testing.assert_array_equal(y, [[4, 8, 0, 0]])

    node = helper.make_node("CastMap", ["m"], ["y"], domain="ai.onnx.ml", map_form="SPARSE", max_map=5)
    m_type = map_type(TensorProto.INT64, TensorProto.FLOAT)
    model = ml_model(node, [helper.make_value_info("m", m_type)],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])])
    (y,) = onyx.InferenceSession(model).run(None, {"m": {3: np.float32(1.5), 0: np.float32(-2)}})
    np.testing.assert_array_equal(y, [[-2, 0, 0, 1.5, 0]])
