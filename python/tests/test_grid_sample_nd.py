"""GridSample-20 over volumes ([N, C, D, H, W], a grid of [N, Do, Ho, Wo, 3]) against
PyTorch's grid_sample: trilinear and nearest, every padding mode, both corner alignments."""
import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

import onyx


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_volumetric_grid_sample_matches_pytorch(mode, padding, align):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1.3, 1.3, (2, 3, 2, 4, 3)).astype(np.float32)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding,
                            align_corners=align)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                                            helper.make_tensor_value_info("grid", TensorProto.FLOAT, grid.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    (y,) = onyx.InferenceSession(model.SerializeToString()).run(None, {"x": x, "grid": grid})
    want = torch.nn.functional.grid_sample(torch.from_numpy(x), torch.from_numpy(grid),
                                           mode="bilinear" if mode == "linear" else "nearest",
                                           padding_mode=padding, align_corners=bool(align)).numpy()
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
