"""onyx.np against NumPy (every function and operator, indexing, dtypes), onyx.grad
against PyTorch's autograd, jit's one trace per signature, to_onnx, seeded random arrays,
and the example of examples/python (the onnxruntime-numpy README's MLP)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import onyx
import onyx.np as onp
from conftest import SOURCE

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((3, 4)).astype(np.float32)
P = rng.random((3, 4)).astype(np.float32) + 0.5  # positive, for log and sqrt
M = rng.standard_normal((4, 2)).astype(np.float32)


def close(ours, theirs, tol=1e-5):
    ours = np.asarray(ours)
    assert ours.shape == np.shape(theirs), (ours.shape, np.shape(theirs))
    assert ours.dtype == np.asarray(theirs).dtype, (ours.dtype, np.asarray(theirs).dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sin", "cos", "abs", "square"])
def test_unary_functions(name):
    x = P if name in ("log", "sqrt") else A
    close(getattr(onp, name)(onp.array(x)), getattr(np, name)(x))


def test_operators_broadcast_and_scalars():
    a, b, row = onp.array(A), onp.array(B), onp.array(A[0])
    close(a + b, A + B)
    close(a - row, A - A[0])
    close(a * 2, A * 2)
    close(2 - a, 2 - A)
    close(1 / onp.array(P), 1 / P)
    close(onp.array(P) ** 2, P ** 2)
    close(-a, -A)
    close(a @ onp.array(M), A @ M)
    close(A @ onp.array(M), A @ M)  # __rmatmul__ from a NumPy array
    for op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        close(getattr(a, op)(b), getattr(A, op)(B))
    ints = onp.array(np.arange(6).reshape(2, 3))
    close(ints * 3 + 1, np.arange(6).reshape(2, 3) * 3 + 1)  # Python ints keep int64


def test_reductions_and_shapes():
    a = onp.array(A)
    for name in ("sum", "mean", "max", "min"):
        close(getattr(onp, name)(a), getattr(np, name)(A))
        close(getattr(onp, name)(a, axis=1), getattr(np, name)(A, axis=1))
        close(getattr(a, name)(axis=0, keepdims=True), getattr(A, name)(axis=0, keepdims=True))
    close(onp.argmax(a, axis=1), np.argmax(A, axis=1))
    close(onp.argmax(a), np.argmax(A))
    close(onp.reshape(a, (4, 3)), A.reshape(4, 3))
    close(a.reshape(2, -1), A.reshape(2, -1))
    close(onp.transpose(a), A.T)
    close(a.T, A.T)
    close(onp.transpose(onp.array(A[None]), (1, 0, 2)), np.transpose(A[None], (1, 0, 2)))
    close(onp.squeeze(onp.array(A[None])), A)
    close(onp.expand_dims(a, 1), np.expand_dims(A, 1))
    close(onp.concatenate([a, onp.array(B)], axis=1), np.concatenate([A, B], axis=1))
    close(onp.stack([a, onp.array(B)]), np.stack([A, B]))
    close(onp.where(a > 0, a, 0.0), np.where(A > 0, A, 0.0))
    close(onp.clip(a, -0.5, 0.5), np.clip(A, -0.5, 0.5))
    close(onp.maximum(a, onp.array(B)), np.maximum(A, B))
    close(onp.minimum(a, 0.0), np.minimum(A, np.float32(0)))
    close(onp.dot(a, onp.array(M)), np.dot(A, M))
    close(onp.matmul(a, onp.array(M)), np.matmul(A, M))
    assert a.shape == (3, 4) and a.ndim == 2 and a.dtype == np.float32
    lazy = (a @ onp.array(M)) + 1
    assert lazy.shape == (3, 2), "the shape is known without computing"
    assert onp.array([1, 2]).dtype == np.int64 and onp.array([1.5]).dtype == np.float64
    assert onp.array([1.5], dtype=np.float32).dtype == np.float32
    close(a.astype(np.int32), A.astype(np.int32))


def test_indexing_like_numpy():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    a = onp.array(x)
    for key in [0, -1, (1, 2), slice(None), (slice(None), 1), (..., 2), (None, 0), (0, None, ..., None),
                (slice(None, None, -1),), (slice(1, None), slice(None, None, 2)), (..., slice(3, 0, -1)),
                (0, slice(-2, None), -1), np.array([1, 0, 1]), (slice(None), np.array([2, 0])),
                (0, np.array([[0, 1], [2, 2]]))]:
        close(a[key], x[key])


def test_numpy_interop_and_repr():
    a = onp.array(A) * 1
    assert isinstance(np.asarray(a), np.ndarray)
    close(np.asarray(a), A)
    assert "dtype=float32" in repr(a)
    assert float(onp.array(A).sum()) == pytest.approx(float(A.sum()), rel=1e-5)
    assert len(onp.array(A)) == 3
    assert onp.array(A).sum().item() == pytest.approx(float(A.sum()), rel=1e-5)


def test_nn_functions_match_torch():
    t = torch.from_numpy(A)
    close(onp.nn.relu(A), torch.relu(t).numpy())
    close(onp.nn.sigmoid(A), torch.sigmoid(t).numpy())
    close(onp.nn.softmax(A, axis=1), torch.softmax(t, 1).numpy())
    close(onp.nn.log_softmax(A), torch.log_softmax(t, -1).numpy())
    close(onp.nn.gelu(A), torch.nn.functional.gelu(t).numpy())


def loss_fn(w, b, x, y):
    return onp.square(onp.nn.relu(x @ w + b).sum(axis=1) - y).mean()


def test_grad_matches_autograd():
    x, y = A, rng.standard_normal(3).astype(np.float32)
    w, b = M, rng.standard_normal(2).astype(np.float32)
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    tl = ((torch.relu(torch.from_numpy(x) @ tw + tb).sum(1) - torch.from_numpy(y)) ** 2).mean()
    tl.backward()
    gw, gb = onyx.grad(loss_fn, argnums=(0, 1))(w, b, x, y)
    close(gw, tw.grad.numpy())
    close(gb, tb.grad.numpy())
    close(onyx.grad(loss_fn)(w, b, x, y), tw.grad.numpy())
    value, g = onyx.value_and_grad(loss_fn, argnums=1)(w, b, x, y)
    assert float(value) == pytest.approx(tl.item(), rel=1e-5)
    close(g, tb.grad.numpy())
    # GradientTape style, on arrays already in hand.
    ow, ob = onp.array(w), onp.array(b)
    dw, db = onp.gradients(loss_fn(ow, ob, onp.array(x), onp.array(y)), [ow, ob])
    close(dw, tw.grad.numpy())
    close(db, tb.grad.numpy())


def test_jit_traces_once_per_signature():
    calls = []

    def f(x, y):
        calls.append(1)
        return onp.tanh(x @ y) * 2

    fast = onyx.jit(f)
    close(fast(A, M), np.tanh(A @ M) * 2)
    close(fast(B, M), np.tanh(B @ M) * 2)
    assert len(calls) == 1, "same shapes and dtypes: traced once"
    fast(A[:2], M)
    assert len(calls) == 2, "a new shape traces again"


def test_to_onnx_gives_a_model_that_runs():
    model = onyx.to_onnx(lambda x, w: onp.nn.relu(x @ w), A, M)
    assert [i[0] for i in model.inputs] == ["arg0", "arg1"]
    out = onyx.InferenceSession(model).run(None, {"arg0": A, "arg1": M})[0]
    close(out, np.maximum(A @ M, 0))


def test_random_is_seeded():
    g1, g2 = onp.random.default_rng(3), onp.random.default_rng(3)
    a, b = np.asarray(g1.normal(size=(1000,))), np.asarray(g2.normal(size=(1000,)))
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean()) < 0.1 and abs(a.std() - 1) < 0.1
    u = np.asarray(g1.uniform(2, 3, size=(2, 500)))
    assert u.shape == (2, 500) and u.min() >= 2 and u.max() < 3
    assert not np.array_equal(np.asarray(g1.normal(size=(10,))), np.asarray(g1.normal(size=(10,))))
    onp.random.seed(5)
    first = np.asarray(onp.random.rand(4))
    onp.random.seed(5)
    np.testing.assert_array_equal(np.asarray(onp.random.rand(4)), first)


def test_errors():
    with pytest.raises(onyx.InvalidArgument, match="gradients: part of the expression was already computed"):
        w = onp.array(M)
        h = onp.array(A) @ w
        h.eval()
        onp.gradients(h.sum(), [w])
    with pytest.raises(onyx.InvalidArgument, match="must return an onyx.np array"):
        onyx.grad(lambda x: 1.0)(A)
    with pytest.raises(onyx.InvalidArgument, match="too many indices"):
        onp.array(A)[0, 0, 0]
    with pytest.raises(onyx.Error):
        np.asarray(onp.array(A) @ onp.array(A))  # [3,4] @ [3,4]


def test_python_examples_run():
    for name in sorted(os.listdir(os.path.join(SOURCE, "examples", "python"))):
        if name.endswith(".py"):
            r = subprocess.run([sys.executable, os.path.join(SOURCE, "examples", "python", name)],
                               capture_output=True, text=True)
            assert r.returncode == 0, name + "\n" + r.stdout + r.stderr
