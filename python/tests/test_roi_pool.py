"""MaxRoiPool against torchvision's roi_pool (the same Fast R-CNN semantics): regions of
several sizes, one partly outside the map, a scale, two images."""
import numpy as np
import torch
import torchvision
from onnx import TensorProto, helper

import onyx


def test_max_roi_pool_matches_torchvision():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    rois = np.array([[0, 1.2, 0.7, 7.9, 6.1], [1, 0, 0, 10, 8], [1, 6.5, 2.2, 14.0, 12.5],
                     [0, 3, 3, 3, 3]], np.float32)
    node = helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=[3, 2], spatial_scale=0.8)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                                            helper.make_tensor_value_info("rois", TensorProto.FLOAT, rois.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (y,) = onyx.InferenceSession(model.SerializeToString()).run(None, {"x": x, "rois": rois})
    want = torchvision.ops.roi_pool(torch.from_numpy(x), torch.from_numpy(rois), (3, 2), 0.8).numpy()
    np.testing.assert_array_equal(y, want)
