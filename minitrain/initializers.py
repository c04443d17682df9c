"""Weight initializers, in Keras's names and numerics: ``init(shape, dtype) -> Tensor``.

Random ones draw from ``mt.random``: with a ``seed`` every call gives the same values (as in
Keras 3); without one they draw from the global generator, so ``mt.random.set_seed`` makes a
whole model's initial weights reproducible.
"""
import math

import numpy as np

from . import identifiers, random
from .ops import as_tensor, ones, zeros
from .tensor import as_dtype, float32

# the standard deviation of a unit normal truncated at +-2, by which Keras divides so that
# the truncated draw keeps the intended variance
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape):
    """(fan_in, fan_out); a conv kernel (..., c_in, c_out) counts its receptive field."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Callable as ``init(shape, dtype=None)``; a subclass fills ``sample(shape, dtype)``."""

    def __call__(self, shape, dtype=None):
        return self.sample(tuple(int(n) for n in shape), as_dtype(dtype) or float32)

    def sample(self, shape, dtype):
        raise NotImplementedError

    def get_config(self):
        return dict(vars(self))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _floating(dtype, name):
    if dtype.kind != "f":
        raise ValueError(f"{name} draws floating values; got dtype {dtype.name}")
    return dtype


class Zeros(Initializer):
    def sample(self, shape, dtype):
        return zeros(shape, dtype)


class Ones(Initializer):
    def sample(self, shape, dtype):
        return ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, dtype):
        return ones(shape, dtype) * self.value


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, dtype):
        return random.normal(shape, self.mean, self.stddev, _floating(dtype, "RandomNormal"),
                             self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape, dtype):
        return random.uniform(shape, self.minval, self.maxval,
                              _floating(dtype, "RandomUniform"), self.seed)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, dtype):
        return random.truncated_normal(shape, self.mean, self.stddev,
                                       _floating(dtype, "TruncatedNormal"), self.seed)


class VarianceScaling(Initializer):
    """Variance scale / n, n the fan in, the fan out or their mean (He, Glorot, LeCun)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                             f"got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling: distribution must be 'truncated_normal', "
                             f"'untruncated_normal' or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def sample(self, shape, dtype):
        dtype = _floating(dtype, type(self).__name__)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)  # U(-a, a) has variance a**2 / 3
            return random.uniform(shape, -limit, limit, dtype, self.seed)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, 0.0, math.sqrt(variance), dtype, self.seed)
        stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
        return random.truncated_normal(shape, 0.0, stddev, dtype, self.seed)


def _variance_scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,),
                {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform",
                                  "U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio).")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                                 "Truncated normal, variance 2 / (fan_in + fan_out).")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal",
                             "Truncated normal, variance 2 / fan_in (He et al., 2015).")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform",
                              "U(-a, a), a = sqrt(6 / fan_in) (He et al., 2015).")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                                "Truncated normal, variance 1 / fan_in (LeCun et al., 1998).")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform",
                                 "U(-a, a), a = sqrt(3 / fan_in) (LeCun et al., 1998).")

class Orthogonal(Initializer):
    """gain * Q of the QR decomposition of a normal draw (Saxe et al., 2014): Keras's
    ``orthogonal``, the default of every recurrent layer's ``recurrent_initializer``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def sample(self, shape, dtype):
        rows, cols = int(math.prod(shape[:-1])), shape[-1]
        draw = random.normal((max(rows, cols), min(rows, cols)), 0.0, 1.0, "float64", self.seed)
        q, r = np.linalg.qr(np.asarray(draw.numpy()))
        q = q * np.sign(np.diag(r))  # the sign that makes Q unique, hence uniformly drawn
        q = q.T if rows < cols else q
        return as_tensor((self.gain * q).reshape(shape).astype(dtype))


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal,
    "uniform": RandomUniform, "normal": RandomNormal,  # Keras's short aliases
}


def get(identifier):
    """An initializer from a name ("glorot_uniform", "GlorotUniform"), a
    ``{"class_name": ..., "config": {...}}`` dict, an instance or any callable; None stays None."""
    if identifier is None:
        return None
    return identifiers.resolve(identifier, _BY_NAME, "initializer")
