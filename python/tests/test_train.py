"""onyx.train and onyx.autodiff against PyTorch: fit follows a PyTorch training loop over 20
steps (scripts/make_fit_refs.py), gradients and training steps match PyTorch's autograd
(scripts/make_training_refs.py); fit on paths, validation, history, checkpoints."""
import os
import signal

import numpy as np
import pytest

import onyx
from conftest import MODELS


def manifest(directory, case):
    with open(os.path.join(directory, case + ".txt")) as f:
        pairs = [line.split() for line in f if line.strip()]
    return {k: np.load(os.path.join(directory, v)) for k, v in pairs}


def initializer_of(model, value):
    """The initializer holding PyTorch's initial value (export may rename parameters)."""
    names = [n for n, v in model.initializers.items() if v.shape == value.shape and np.array_equal(v, value)]
    assert len(names) == 1, names
    return names[0]


def test_fit_follows_a_pytorch_training_loop():
    fit_dir = os.path.join(MODELS, "fit")
    refs = manifest(fit_dir, "reg_sgd")
    rows = np.loadtxt(os.path.join(fit_dir, "diabetes.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    x, y = rows[:320, :10], rows[:320, 10]
    model = onyx.Model.load(os.path.join(fit_dir, "reg_sgd.onnx"))
    means = []
    result = onyx.train.fit(model, (x, y), epochs=1, batch_size=16, shuffle=False, optimizer="sgd", lr=0.05,
                            loss="mse", metrics=[], threads=1,
                            progress=lambda epoch, epochs, batch, batches, loss, rate: means.append(loss))
    assert len(means) == 20
    steps = [means[0]] + [means[i] * (i + 1) - means[i - 1] * i for i in range(1, 20)]
    np.testing.assert_allclose(steps, refs["losses"], rtol=1e-3)
    assert result.history["loss"] == pytest.approx([np.mean(refs["losses"])], rel=1e-3)
    trained = result.model.initializers
    for key, value in refs.items():
        if key.startswith("init:"):
            name = initializer_of(model, value)
            np.testing.assert_allclose(trained[name], refs["final:" + key[5:]], rtol=1e-3, atol=1e-5)
    assert not result.model.has_training_info


def test_grad_model_and_make_training_match_autograd():
    train_dir = os.path.join(MODELS, "training")
    refs = manifest(train_dir, "mlp")
    model = onyx.Model.load(os.path.join(train_dir, "mlp.onnx"))
    x, labels = refs["x"][0], refs["labels"][0]
    step = onyx.autodiff.make_training(model, optimizer="sgd", lr=0.1)
    sess = step.session()
    names = [o.name for o in sess.get_outputs()]
    assert names[0] == "loss"
    out = sess.run(None, {"x": x, "labels": labels})
    np.testing.assert_allclose(out[0], refs["loss"], rtol=1e-5)
    # One SGD step is w - lr * grad: the gradients autograd gave.
    for key, value in refs.items():
        if key.startswith("init:"):
            name = initializer_of(model, value)
            new = out[names.index(name + "_new")]
            np.testing.assert_allclose((value - new) / 0.1, refs["grad:" + key[5:]], rtol=1e-3, atol=1e-5)
    grad = onyx.autodiff.grad_model(model)
    assert any(o[0].endswith("_grad") for o in grad.outputs)
    assert isinstance(onyx.autodiff.grad_model(model, as_type="bytes"), bytes)
    embedded = onyx.autodiff.make_training(model, training_info=True, loss="cross-entropy")
    assert embedded.has_training_info


def test_fit_on_arrays_with_validation_history_and_checkpoints(tmp_path):
    fit_dir = os.path.join(MODELS, "fit")
    data = np.load(os.path.join(fit_dir, "two_inputs.npz"))
    feeds = {k: data[k] for k in ("a", "b", "labels")}
    ckpt = tmp_path / "ckpt"
    result = onyx.train.fit(os.path.join(fit_dir, "two_inputs.onnx"), feeds, epochs=6, batch_size=16,
                            optimizer="momentum", lr=0.1, metrics=["accuracy", "top2"], validation_split=0.25,
                            checkpoint_dir=str(ckpt), threads=1, progress=False)
    assert sorted(result.history) == ["loss", "val_accuracy", "val_loss", "val_top2"]
    assert all(len(v) == 6 for v in result.history.values())
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.history["val_accuracy"][-1] >= 0.8
    assert (ckpt / "best.onnx").exists() and (ckpt / "last.onnx").exists()
    # The trained model runs, and evaluate agrees with the last epoch on its own data.
    sess = result.model.session()
    scores = sess.run(None, {"a": feeds["a"][:5], "b": feeds["b"][:5]})[0]
    assert scores.shape == (5, 3)
    metrics = onyx.train.evaluate(result.model, feeds, metrics=["accuracy", "loss"])
    assert 0.8 <= metrics["accuracy"] <= 1 and metrics["loss"] > 0
    pred = onyx.train.predict(result.model, feeds)
    np.testing.assert_allclose(pred[:5], scores, rtol=1e-6)
    # Resumed from its last checkpoint, the run goes on to epoch 8.
    more = onyx.train.fit(os.path.join(fit_dir, "two_inputs.onnx"), feeds, epochs=8, validation_split=0.25,
                          resume=str(ckpt / "last.onnx"), threads=1, progress=False)
    assert len(more.history["loss"]) == 2


def test_fit_on_a_path_with_a_tuple_and_a_bar(tmp_path, capsys):
    fit_dir = os.path.join(MODELS, "fit")
    result = onyx.train.fit(os.path.join(fit_dir, "reg_sgd.onnx"), os.path.join(fit_dir, "diabetes.csv"),
                            target="target", loss="mse", metrics=["mse", "mae"], validation_split=0.2,
                            epochs=3, batch_size=32, lr=0.01, lr_schedule=["cosine:T_max=40"], clip_grad_norm=5.0,
                            threads=1)
    assert sorted(result.history) == ["loss", "val_loss", "val_mae", "val_mse"]
    assert "epoch 3/3" in capsys.readouterr().err  # tqdm's bar, or the plain lines
    path = tmp_path / "reg.onnx"
    result.model.save(str(path))
    assert onyx.InferenceSession(str(path)).get_inputs()[0].shape == ["batch", 10]
    with pytest.raises(onyx.InvalidArgument, match="takes 1 input"):
        onyx.train.fit(result.model, ([np.zeros((4, 10)), np.zeros((4, 2))], np.zeros(4)), progress=False)
    with pytest.raises(ZeroDivisionError):  # the callback's own error stops the run
        onyx.train.fit(result.model, os.path.join(fit_dir, "diabetes.csv"), target="target", loss="mse",
                       metrics=[], progress=lambda *a: 1 / 0)


def test_ctrl_c_stops_fit_after_a_step_with_a_checkpoint_that_resumes_exactly(tmp_path):
    fit_dir = os.path.join(MODELS, "fit")
    data = np.load(os.path.join(fit_dir, "two_inputs.npz"))
    feeds = {k: data[k] for k in ("a", "b", "labels")}
    model = os.path.join(fit_dir, "two_inputs.onnx")
    common = dict(epochs=3, batch_size=16, optimizer="momentum", lr=0.1, metrics=[], threads=1, seed=3)
    whole = onyx.train.fit(model, feeds, progress=False, **common)
    seen = []

    def press_ctrl_c(epoch, epochs, batch, batches, loss, rate):
        seen.append(batch)
        if len(seen) == 5:
            os.kill(os.getpid(), signal.SIGINT)

    ckpt = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt, match=r"interrupted after step 5 \(epoch 1, batch 5 of \d+\)"):
        onyx.train.fit(model, feeds, progress=press_ctrl_c, checkpoint_dir=str(ckpt), **common)
    assert len(seen) == 5, "no step ran after Ctrl-C"
    resumed = onyx.train.fit(model, feeds, progress=False, resume=str(ckpt / "last.onnx"), **common)
    assert resumed.history["loss"] == whole.history["loss"]
    for name, value in whole.model.initializers.items():
        np.testing.assert_array_equal(resumed.model.initializers[name], value)
