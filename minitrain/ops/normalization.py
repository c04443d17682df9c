"""Moments, batch normalization and dropout, composed of differentiable ops.

Each is a few existing ops, so each gradient (of any order) comes from theirs at no extra cost.
"""
from .. import backend, random
from ..tensor import Tensor
from .arithmetic import rsqrt, square
from .core import as_tensor, normalize_axes
from .reduce import reduce_mean
from .shape import squeeze


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) of x over ``axes``; the variance is the biased one, mean((x - mean)**2).

    Unlike TensorFlow, the mean inside the variance is not wrapped in stop_gradient: the first
    derivative is the same either way, and only this way are the second derivatives true.
    """
    x = as_tensor(x)
    axes = normalize_axes(axes, x.ndim, "moments")
    mean = reduce_mean(x, axes, keepdims=True)
    variance = reduce_mean(square(x - mean), axes, keepdims=True)
    if keepdims:
        return mean, variance
    return squeeze(mean, axes), squeeze(variance, axes)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + epsilon) + offset; offset and scale may be None."""
    x = as_tensor(x)
    inv = rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    shift = -mean * inv if offset is None else offset - mean * inv
    return x * inv + shift


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """x / (1 - rate) where a uniform draw is >= rate, else 0 (TensorFlow's mask and scale).

    ``noise_shape`` (broadcast against x's shape; None entries take x's size) shares one draw
    along the axes where it is 1. A ``seed`` fixes the mask; without one, the global generator
    of ``mt.random`` draws it.
    """
    x = as_tensor(x)
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate!r}")
    if rate == 0:
        return x
    shape = x.shape if noise_shape is None else _noise_shape(x.shape, noise_shape)
    keep = random.uniform(shape, dtype="float64", seed=seed)._data >= rate
    scale = backend.to_device(keep.astype(x.dtype) * x.dtype.type(1 / (1 - rate)), x.device)
    return x * Tensor(scale)  # the mask goes where x is, whatever the current device


def _noise_shape(shape, noise_shape):
    if len(noise_shape) != len(shape):
        raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} must have one entry per "
                         f"axis of the input's shape {shape}")
    return tuple(n if k is None else int(k) for n, k in zip(shape, noise_shape))
