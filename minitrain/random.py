"""Random tensors, seeded from one place: ``mt.random.set_seed``.

The generator is the one piece of global state besides the tape stack, as in TensorFlow:
the same seed gives the same sequence of values.
"""
import numpy as np

from . import backend
from .tensor import Tensor, as_dtype, float32

_generator = np.random.default_rng()


def set_seed(seed):
    """Restart the global generator from ``seed``."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_state():
    """The generator's state (a dict), for checkpoints."""
    return _generator.bit_generator.state


def set_state(state):
    _generator.bit_generator.state = state


def _source(seed):
    # an op-level seed gives a stream of its own, fixed by the seed alone
    return _generator if seed is None else np.random.default_rng(seed)


def _on_device(values, dtype):
    xp = backend.current_module()
    return Tensor(xp.asarray(values.astype(as_dtype(dtype) or float32)))


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    return _on_device(_source(seed).normal(mean, stddev, size=tuple(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal values, redrawn until within two standard deviations of the mean."""
    rng = _source(seed)
    values = rng.normal(size=tuple(shape))
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(size=outside.sum())
        outside = np.abs(values) > 2
    return _on_device(mean + stddev * values, dtype)


def uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    dtype = as_dtype(dtype) or float32
    rng = _source(seed)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: an integer dtype needs maxval")
        return Tensor(backend.current_module().asarray(
            rng.integers(minval, maxval, size=tuple(shape)).astype(dtype)))
    return _on_device(rng.uniform(minval, 1.0 if maxval is None else maxval, size=tuple(shape)),
                      dtype)


def shuffle(value, seed=None, name=None):
    x = value._data if isinstance(value, Tensor) else np.asarray(value)
    return Tensor(x[_source(seed).permutation(len(x))])
