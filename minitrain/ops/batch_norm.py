"""Batch normalization with the batch's own statistics (a BatchNormalization layer in
training), as one op: (y, mean, variance) = batch_norm_training(x, scale, offset).

    mean, variance = moments(x, axes), xhat = (x - mean) / sqrt(variance + epsilon),
    y = scale * xhat + offset

Composed of moments and batch_normalization, the forward takes about 10 array passes and the
backward through their ops about 20 more; here the forward takes 6 and the first-order
backward 7 (benchmarks/batch_norm.py, a (64, 32, 32, 32) layer forward + backward: 34 ms ->
16), from TensorFlow's fused formula:

    dx = scale / sqrt(variance + epsilon) * (gy - mean(gy) - xhat * mean(gy * xhat))

The first-order gradient is computed on the arrays. Where a tape is recording while it is
taken (a second derivative on the way), the same formula is built from differentiable ops
instead, with the statistics recomputed from x, so that derivatives of every order are true.
"""
import math

from .. import backend, tape
from ..tensor import Tensor
from .arithmetic import rsqrt
from .core import add_optional, as_tensor, normalize_axes, register_gradient, run_outputs
from .normalization import moments
from .reduce import broadcast_to, reduce_sum


def batch_norm_training(x, scale, offset, axes, epsilon):
    """(y, mean, variance) of x normalized over ``axes`` (the statistics keep their dims);
    ``scale`` and ``offset`` are shaped as the statistics, or None."""
    x = as_tensor(x)
    axes = normalize_axes(axes, x.ndim, "batch_norm_training")
    params = [as_tensor(p) for p in (scale, offset) if p is not None]
    attrs = {"axes": axes, "epsilon": epsilon, "scaled": scale is not None,
             "offset": offset is not None}

    def forward(a, *p):
        scale_array = p[0] if attrs["scaled"] else None
        offset_array = p[-1] if attrs["offset"] else None
        return _forward(a, scale_array, offset_array, axes, epsilon)

    return run_outputs("batch_norm_training", forward, (x, *params), attrs)


def _forward(x, scale, offset, axes, epsilon):
    xp, along, count = backend.array_module(x), backend.along_channels, _count(x.shape, axes)
    mean = _sum(x, axes) / count
    # the centred x, then scaled and shifted in its own memory (in place, a pass costs half
    # of one into new memory)
    y = along(xp.subtract, x, mean)
    variance = backend.sum_of_products(y, y, axes) / count
    along(xp.multiply, y, _inverse_deviation(variance, epsilon, scale), out=y)
    if offset is not None:
        along(xp.add, y, offset, out=y)
    return y, mean, variance


@register_gradient("batch_norm_training")
def _batch_norm_training_grad(op, gy, g_mean, g_variance):
    """TensorFlow's fused formula, on the arrays or, under a recording tape, in ops"""
    attrs, (x, *params) = op.attrs, op.inputs
    scale = params[0] if attrs["scaled"] else None
    if tape.is_recording():
        grads = _composite_grads(x, scale, gy, g_mean, g_variance, attrs)
    else:
        mean, variance = (y._data for y in op.outputs[1:])
        arrays = [None if g is None else g._data for g in (gy, g_mean, g_variance)]
        grads = [None if g is None else Tensor(g) for g in _array_grads(
            x._data, None if scale is None else scale._data, mean, variance, *arrays, attrs)]
    d_x, d_scale, d_offset = grads
    return (d_x,) + ((d_scale,) if attrs["scaled"] else ()) + \
        ((d_offset,) if attrs["offset"] else ())


def _array_grads(x, scale, mean, variance, gy, g_mean, g_variance, attrs):
    """(dx, dscale, doffset) on arrays: for gy, 7 passes over x's size, one into new memory
    (the centred x, which then becomes dx); a few more for the statistics' own gradients,
    met only where a loss reads them."""
    axes, count = attrs["axes"], _count(x.shape, attrs["axes"])
    xp, along = backend.array_module(x), backend.along_channels
    d_x = d_scale = d_offset = None
    needed = gy is not None or g_variance is not None
    centred = along(xp.subtract, x, mean) if needed else None
    if g_variance is not None:
        d_x = centred * (2 * g_variance / count)
    if gy is not None:
        inverse = _inverse_deviation(variance, attrs["epsilon"], None)
        d_offset = _sum(gy, axes)
        d_scale = backend.sum_of_products(gy, centred, axes) * inverse  # sum(gy * x_hat)
        d_gy = centred  # x_hat * -mean(gy * x_hat) + gy - mean(gy), times scale * inverse
        along(xp.multiply, d_gy, -inverse * d_scale / count, out=d_gy)
        d_gy += gy
        along(xp.subtract, d_gy, d_offset / count, out=d_gy)
        along(xp.multiply, d_gy, inverse if scale is None else inverse * scale, out=d_gy)
        d_x = add_optional(d_x, d_gy)
    if g_mean is not None:
        d_x = add_optional(d_x, xp.broadcast_to(g_mean / count, x.shape))
    return d_x, d_scale, d_offset


def _composite_grads(x, scale, gy, g_mean, g_variance, attrs):
    """(dx, dscale, doffset) in differentiable ops of x, scale and the output gradients."""
    axes, count = attrs["axes"], _count(x.shape, attrs["axes"])
    mean, variance = moments(x, axes, keepdims=True)
    centred, inverse = x - mean, rsqrt(variance + attrs["epsilon"])
    d_x = d_scale = d_offset = None
    if gy is not None:
        x_hat = centred * inverse
        d_offset = reduce_sum(gy, axes, keepdims=True)
        d_scale = reduce_sum(gy * x_hat, axes, keepdims=True)
        k = inverse if scale is None else inverse * scale
        d_x = k * (gy - d_offset / count - x_hat * (d_scale / count))
    if g_mean is not None:
        d_x = add_optional(d_x, broadcast_to(g_mean / count, x.shape))
    if g_variance is not None:
        d_x = add_optional(d_x, centred * (2 * g_variance / count))
    return d_x, d_scale, d_offset


def _inverse_deviation(variance, epsilon, scale):
    """scale / sqrt(variance + epsilon), scale 1 where None."""
    inverse = 1 / backend.array_module(variance).sqrt(variance + epsilon)
    return inverse if scale is None else inverse * scale


def _sum(a, axes):
    return backend.sum_in_dtype(a, axes, True)


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)
