"""Random tensors, seeded from one place: ``mt.random.set_seed``.

The generator is the one piece of global state besides the tape stack, as in TensorFlow:
the same seed gives the same sequence of values. The stateless ops and ``Generator`` draw
from streams of their own, fixed by their own seeds and independent of the global one.
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


# --- stateless ops and Generator ------------------------------------------------------------
# Values are drawn on the host with numpy's Philox generator keyed from the seed, then moved to
# the current device: deterministic functions of the seed (and shape), the same on every
# device, but not TensorFlow's bit stream (its Philox kernels scramble the seed differently).

_FLOATS = (np.float16, np.float32, np.float64)
_BOUNDED_INTS = (np.int32, np.int64)
_INTS = _BOUNDED_INTS + (np.uint32, np.uint64)


def _philox(integers):
    """numpy's Philox generator keyed from ``integers``, each taken as 64 bits in two 32-bit
    words: a fixed width, so distinct seeds never give one key."""
    words = [(int(v) >> shift) & 0xFFFFFFFF for v in integers for shift in (0, 32)]
    return np.random.Generator(np.random.Philox(np.random.SeedSequence(words)))


def _integers(seed, name):
    values = np.asarray(seed)
    if values.dtype.kind not in "iuO":  # O: Python integers beyond 64 bits
        raise TypeError(f"{name}: a seed is made of integers (int32 or int64), got "
                        f"{values.dtype.name} values {seed!r}")
    return values.reshape(-1).tolist()


def _stateless_source(seed, name):
    values = np.asarray(seed)
    if values.shape != (2,):
        raise ValueError(f"{name}: seed must have shape [2], not {list(values.shape)} (a pair "
                         f"of integers such as (1, 2)); got {seed!r}")
    return _philox(_integers(values, name))


def _dims(shape):
    return tuple(int(d) for d in np.asarray(shape, dtype=np.int64).reshape(-1))


def _draw_normal(rng, shape, mean, stddev, dtype, name):
    dtype = as_dtype(dtype) or float32
    if dtype not in _FLOATS:
        raise ValueError(f"{name}: Invalid dtype {dtype.name}: normal values are float16, "
                         "float32 or float64")
    values = rng.standard_normal(_dims(shape)) * np.asarray(stddev) + np.asarray(mean)
    return _on_device(values, dtype)


def _draw_uniform(rng, shape, minval, maxval, dtype, name):
    """TensorFlow's rules: floats in [minval, maxval), maxval 1 by default; integers need both
    bounds (int32, int64), or neither for the dtype's full range (also uint32, uint64)."""
    dtype, shape = as_dtype(dtype) or float32, _dims(shape)
    if dtype in _FLOATS:
        low, high = np.asarray(minval), np.asarray(1 if maxval is None else maxval)
        return _on_device(rng.random(shape) * (high - low) + low, dtype)
    if dtype not in _INTS:
        raise ValueError(f"{name}: Invalid dtype {dtype.name}: uniform values are float16, "
                         "float32, float64, int32 or int64 (uint32, uint64 for the full range)")
    if (minval is None) != (maxval is None):
        raise ValueError(f"{name}: For integer dtype {dtype.name}, minval and maxval must be "
                         f"both `None` or both non-`None`; got minval={minval} and "
                         f"maxval={maxval}")
    if minval is None:
        info = np.iinfo(dtype)
        return _on_device(rng.integers(info.min, info.max, shape, dtype, endpoint=True), dtype)
    if dtype not in _BOUNDED_INTS:
        raise ValueError(f"{name}: Invalid dtype for bounded uniform integers: {dtype.name}")
    low, high = int(minval), int(maxval)
    if low >= high:
        raise ValueError(f"{name}: Need minval < maxval: {low} >= {high}")
    return _on_device(rng.integers(low, high, shape, dtype), dtype)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=float32, name=None,
                     alg="auto_select"):
    """Normal values, a deterministic function of ``seed`` (shape [2]) and the shape: the same
    seed gives the same values, another seed others. Not TensorFlow's Philox bit stream."""
    return _draw_normal(_stateless_source(seed, "stateless_normal"), shape, mean, stddev, dtype,
                        "stateless_normal")


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=float32, name=None,
                      alg="auto_select"):
    """Uniform values in [minval, maxval), a deterministic function of ``seed`` (shape [2]) and
    the shape. Integer dtypes need minval and maxval, or neither for the full range (as in
    TensorFlow). Not TensorFlow's Philox bit stream."""
    return _draw_uniform(_stateless_source(seed, "stateless_uniform"), shape, minval, maxval,
                         dtype, "stateless_uniform")


class Generator:
    """``tf.random.Generator``: a stream of random values with its own state, untouched by
    ``set_seed``; each draw advances it. numpy's Philox keyed from the seed, so the values are
    not TensorFlow's; ``alg`` is accepted and ignored."""

    def __init__(self, rng):
        self._rng = rng

    @classmethod
    def from_seed(cls, seed, alg=None):
        """A generator fixed by ``seed``: an integer or a sequence of them."""
        return cls(_philox(_integers(seed, "Generator.from_seed")))

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        """A generator seeded from the operating system's entropy."""
        return cls(np.random.Generator(np.random.Philox()))

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=float32, name=None):
        return _draw_normal(self._rng, shape, mean, stddev, dtype, "Generator.normal")

    def uniform(self, shape, minval=0, maxval=None, dtype=float32, name=None):
        """As ``stateless_uniform``: integer dtypes need both bounds, or neither."""
        return _draw_uniform(self._rng, shape, minval, maxval, dtype, "Generator.uniform")

    def uniform_full_int(self, shape, dtype=np.uint64, name=None):
        return _draw_uniform(self._rng, shape, None, None, dtype, "Generator.uniform_full_int")

    def make_seeds(self, count=1):
        """``count`` seeds for the stateless ops, as an int64 tensor of shape [2, count]."""
        return self.uniform_full_int([2, count], np.int64)

    def split(self, count=1):
        """``count`` new generators, independent of this one and of each other."""
        keys = self._rng.integers(0, 2**63, size=count).tolist()
        return [Generator.from_seed(key) for key in keys]
