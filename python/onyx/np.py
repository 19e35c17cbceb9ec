"""onyx.np: NumPy-style lazy arrays whose operations build an ONNX graph (the C++ onyx::np),
computed when a value is read (print, np.asarray, item). With onyx.grad, value_and_grad and
jit (traced once per input signature) and gradients (onnxruntime-numpy's GradientTape
style). Every function here calls the C++ library; none computes anything itself."""
import numpy as _numpy

from . import _onyx

Array = _onyx.np.Array
array = _onyx.np.array
where = _onyx.np.where
concatenate = _onyx.np.concatenate
stack = _onyx.np.stack
expand_dims = _onyx.np.expand_dims
gradients = _onyx.np.gradients


def asarray(x, dtype=None):
    """x itself when it is already an onyx.np array (of that dtype), else a new one."""
    if isinstance(x, Array) and dtype is None:
        return x
    return array(x, dtype)


def _unary(name):
    def f(x):
        return getattr(asarray(x), name)()

    f.__name__ = name
    f.__doc__ = f"Elementwise {name}, lazily."
    return f


exp, log, sqrt, tanh, sin, cos, abs, square = (_unary(n) for n in
                                               ("exp", "log", "sqrt", "tanh", "sin", "cos", "abs", "square"))


def maximum(a, b):
    return asarray(a).maximum(b) if isinstance(a, Array) or not isinstance(b, Array) else b.maximum(a)


def minimum(a, b):
    return asarray(a).minimum(b) if isinstance(a, Array) or not isinstance(b, Array) else b.minimum(a)


def clip(x, lo, hi):
    return asarray(x).clip(lo, hi)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (NumPy's names)
    return asarray(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return asarray(x).mean(axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return asarray(x).max(axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return asarray(x).min(axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    return asarray(x).argmax(axis, keepdims)


def reshape(x, shape):
    return asarray(x).reshape(shape)


def transpose(x, axes=None):
    return asarray(x).transpose() if axes is None else asarray(x).transpose(list(axes))


def squeeze(x, axis=None):
    return asarray(x).squeeze(axis)


def matmul(a, b):
    return asarray(a) @ b


def dot(a, b):
    """Matrix product (for 1-D and 2-D arrays, as numpy.dot)."""
    return asarray(a) @ b


class nn:  # noqa: N801 (a namespace, as onnxruntime-numpy's onp.nn)
    """Neural-network functions: relu, sigmoid, softmax, log_softmax, gelu."""

    relu = staticmethod(lambda x: asarray(x).relu())
    sigmoid = staticmethod(lambda x: asarray(x).sigmoid())
    softmax = staticmethod(lambda x, axis=-1: asarray(x).softmax(axis))
    log_softmax = staticmethod(lambda x, axis=-1: asarray(x).log_softmax(axis))
    gelu = staticmethod(lambda x: asarray(x).gelu())


class Generator:
    """Seeded random arrays (float32), drawn by the C++ library: Generator(seed).uniform,
    normal, random, standard_normal. Each call draws with the next seed of its sequence."""

    def __init__(self, seed=0):
        self._seed, self._calls = int(seed), 0

    def _next(self):
        self._calls += 1
        return (self._seed * 0x9E3779B97F4A7C15 + self._calls) % (1 << 64)

    @staticmethod
    def _shape(size):
        if size is None:
            return []
        return [int(size)] if isinstance(size, int) else [int(s) for s in size]

    def uniform(self, low=0.0, high=1.0, size=None):
        return _onyx.np._uniform(self._shape(size), float(low), float(high), self._next())

    def normal(self, loc=0.0, scale=1.0, size=None):
        return _onyx.np._normal(self._shape(size), float(loc), float(scale), self._next())

    def random(self, size=None):
        return self.uniform(0.0, 1.0, size)

    def standard_normal(self, size=None):
        return self.normal(0.0, 1.0, size)


class random:  # noqa: N801 (numpy.random's shape)
    """numpy.random's module functions on one seeded Generator: seed, rand, randn, uniform,
    normal, default_rng."""

    _gen = Generator(0)
    default_rng = staticmethod(Generator)

    @classmethod
    def seed(cls, s):
        cls._gen = Generator(s)

    @classmethod
    def rand(cls, *shape):
        return cls._gen.random(shape)

    @classmethod
    def randn(cls, *shape):
        return cls._gen.standard_normal(shape)

    @classmethod
    def uniform(cls, low=0.0, high=1.0, size=None):
        return cls._gen.uniform(low, high, size)

    @classmethod
    def normal(cls, loc=0.0, scale=1.0, size=None):
        return cls._gen.normal(loc, scale, size)


float32, float64, int64, int32, bool_ = _numpy.float32, _numpy.float64, _numpy.int64, _numpy.int32, _numpy.bool_
