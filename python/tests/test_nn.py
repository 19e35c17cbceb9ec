"""onyx.nn: layers with PyTorch's arguments build models whose parameters carry PyTorch's
names and give PyTorch's outputs; parameters are read and written as NumPy arrays; the
models train with onyx.train.fit."""
import numpy as np
import torch

import onyx
from onyx import nn


def test_sequential_matches_torch_with_the_same_parameters(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Dropout(0.25), nn.Linear(4 * 4 * 4, 3), nn.LogSoftmax(dim=1))
    assert len(net) == 8 and "Conv2d(1, 4" in repr(net)
    model = net.to_onnx([1, 8, 8], seed=3)
    params = model.initializers
    torch_net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                    torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.25),
                                    torch.nn.Linear(64, 3), torch.nn.LogSoftmax(dim=1)).eval()
    state = torch_net.state_dict()
    for name in ("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "6.weight", "6.bias"):
        assert params[name].shape == tuple(state[name].shape), name
        state[name] = torch.from_numpy(params[name].copy())
    torch_net.load_state_dict(state)
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    ours = model.session().run(None, {"input": x})[0]
    np.testing.assert_allclose(ours, torch_net(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    # Parameters written from NumPy change what the model computes, as in PyTorch.
    model.set_initializer("6.bias", np.array([10, 0, 0], np.float32))
    assert (model.session().run(None, {"input": x})[0].argmax(1) == 0).all()
    assert not params["6.bias"].flags.writeable, "reading gives views that cannot change the model"
    path = tmp_path / "net.onnx"
    net.save(str(path), [1, 8, 8], seed=3)
    np.testing.assert_array_equal(onyx.Model.load(str(path)).initializers["0.weight"], params["0.weight"])


def test_a_layer_model_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 6)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64)
    net = nn.Sequential(nn.Linear(6, 16, init="kaiming_uniform"), nn.GELU(), nn.Linear(16, 2))
    result = onyx.train.fit(net.to_onnx([6], seed=1), (x, y), epochs=8, batch_size=32, lr=0.01,
                            validation_split=0.25, progress=False, threads=1)
    assert result.history["val_accuracy"][-1] >= 0.9
    assert result.history["loss"][-1] < result.history["loss"][0]
