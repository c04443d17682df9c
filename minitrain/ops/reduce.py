"""Reductions, broadcasting, and the one place gradients are summed back to an input's shape."""
import math

from .. import backend
from .arithmetic import sqrt
from .core import as_tensor, normalize_axes, register_gradient, run, run_cut
from .elementwise import exp, log
from .selection import cast, equal, is_finite, where
from .shape import reshape, squeeze, stop_gradient


def _kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduce(name, x, axis, keepdims, forward_name):
    x = as_tensor(x)
    return _reduce_axes(name, x, normalize_axes(axis, x.ndim, name), keepdims, forward_name)


def _reduce_axes(name, x, axes, keepdims, forward_name):
    """The reduction over ``axes``, already a sorted tuple of non-negative ints."""
    # the arrays' own methods: numpy's xp.sum and xp.max add microseconds of Python per call
    attrs = {"axes": axes, "keepdims": keepdims}
    if forward_name == "sum":  # numpy would widen int32 sums to int64; TensorFlow keeps int32
        return run(name, lambda a: backend.sum_in_dtype(a, axes, keepdims), (x,), attrs)
    if forward_name == "mean":
        return run(name, lambda a: backend.mean_in_dtype(a, axes, keepdims), (x,), attrs)
    return run(name, lambda a: getattr(a, forward_name)(axis=axes, keepdims=keepdims), (x,),
               attrs)


def _grad_to_input(op, grad):
    """The reduced gradient, reshaped to keepdims form and broadcast over the input."""
    shape = op.inputs[0]._data.shape
    return broadcast_to(reshape(grad, _kept_shape(shape, op.attrs["axes"])), shape)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_sum", input_tensor, axis, keepdims, "sum")


@register_gradient("reduce_sum")
def _reduce_sum_grad(op, grad):
    """the gradient, copied to every summed element"""
    return (_grad_to_input(op, grad),)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    x = as_tensor(input_tensor)
    axes = normalize_axes(axis, x.ndim, "reduce_mean")
    count = math.prod(x._data.shape[a] for a in axes)
    if x.dtype.kind in "iu":
        return _integer_mean(x, axes, keepdims, count)
    if x.dtype == "float16":  # its sum, or the count, passes 65504 = inf: average in float32
        return cast(reduce_mean(cast(x, "float32"), axes, keepdims), x.dtype)
    if not count:  # 0 / 0, with numpy's warning about the division
        return reduce_sum(x, axes, keepdims) / count
    return _reduce_axes("reduce_mean", x, axes, keepdims, "mean")


def _averaged(op):
    """How many elements each output of a mean averages."""
    shape = op.inputs[0]._data.shape
    return math.prod(shape[a] for a in op.attrs["axes"])


@register_gradient("reduce_mean")
def _reduce_mean_grad(op, grad):
    """the gradient over the count, copied to every averaged element"""
    return (_grad_to_input(op, grad / _averaged(op)),)


def _integer_mean(x, axes, keepdims, count):
    """TensorFlow's integer mean: summed in 64 bits, divided rounding toward zero (as C does)."""
    xp = backend.array_module(x._data)
    wide = "uint64" if x.dtype.kind == "u" else "int64"

    def forward(a):
        total = a.sum(axis=axes, keepdims=keepdims, dtype=wide)
        return (xp.sign(total) * (xp.abs(total) // max(count, 1))).astype(a.dtype)

    return run_cut("reduce_mean", forward, (x,))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The mean squared deviation from the mean (the biased variance, as TensorFlow's)."""
    x = as_tensor(input_tensor)
    deviation = x - reduce_mean(x, axis, keepdims=True)
    return reduce_mean(deviation * deviation, axis, keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def _logical(name, x, axis, keepdims, forward_name):
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, name)
    reduce = getattr(backend.array_module(x._data), forward_name)
    return run_cut(name, lambda a: reduce(a, axis=axes, keepdims=keepdims), (x,))


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return _logical("reduce_any", input_tensor, axis, keepdims, "any")


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return _logical("reduce_all", input_tensor, axis, keepdims, "all")


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_max", input_tensor, axis, keepdims, "max")


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_min", input_tensor, axis, keepdims, "min")


@register_gradient("reduce_max")
@register_gradient("reduce_min")
def _reduce_extreme_grad(op, grad):
    """the gradient, shared equally by the elements that attain the extreme"""
    (x,), (y,) = op.inputs, op.outputs
    kept = _kept_shape(x.shape, op.attrs["axes"])
    hits = cast(equal(x, reshape(y, kept)), x.dtype)
    count = reduce_sum(hits, op.attrs["axes"], keepdims=True)
    return (_grad_to_input(op, grad) * hits / count,)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """log(sum(exp(x))), shifted by the maximum so that exp cannot overflow."""
    x = as_tensor(input_tensor)
    # the shift cancels in value and in gradient, so it need not be differentiated
    peak = stop_gradient(reduce_max(x, axis, keepdims=True))
    shift = where(is_finite(peak), peak, 0)  # all -inf: leave the sum at log(0) = -inf
    result = log(reduce_sum(exp(x - shift), axis, keepdims=True)) + shift
    return result if keepdims else squeeze(result, normalize_axes(axis, x.ndim, "reduce_logsumexp"))


def broadcast_to(input, shape, name=None):
    x = as_tensor(input)
    shape = tuple(int(n) for n in shape)
    if x._data.shape == shape:
        return x
    xp = backend.array_module(x._data)
    return run("broadcast_to", lambda a: xp.broadcast_to(a, shape), (x,))


@register_gradient("broadcast_to")
def _broadcast_to_grad(op, grad):
    """the sweep sums the gradient back to the input's shape"""
    return (grad,)


def tile(input, multiples, name=None):
    x = as_tensor(input)
    multiples = tuple(int(m) for m in multiples)
    if len(multiples) != x.ndim:  # numpy would pad with 1s; the gradient pairs axis by axis
        raise ValueError(f"tile: multiples {multiples} need one entry per axis of the input "
                         f"of shape {x.shape}")
    xp = backend.array_module(x._data)
    return run("tile", lambda a: xp.tile(a, multiples), (x,), {"multiples": multiples})


@register_gradient("tile")
def _tile_grad(op, grad):
    """view the gradient as (m0, n0, m1, n1, ...) and sum over the copies m_i"""
    shape = op.inputs[0].shape
    split = [n for pair in zip(op.attrs["multiples"], shape) for n in pair]
    return (reduce_sum(reshape(grad, split), list(range(0, len(split), 2))),)


def sum_to_shape(grad, shape):
    """Undo numpy broadcasting: sum ``grad`` over the axes that broadcasting added or stretched."""
    if grad._data.shape == shape:
        return grad
    axes, keepdims = _broadcast_axes(grad._data.shape, shape)
    total = _reduce_axes("reduce_sum", grad, axes, keepdims, "sum")
    return total if total._data.shape == shape else reshape(total, shape)


def _broadcast_axes(grad_shape, shape):
    """The axes to sum a gradient of ``grad_shape`` over, back to ``shape``, and whether to keep
    them (no leading axes were added)."""
    lead = len(grad_shape) - len(shape)
    # anything else is a gradient function's bug: reshaping would scramble it silently
    if lead < 0 or any(n not in (1, g) for n, g in zip(shape, grad_shape[lead:])):
        raise ValueError(f"sum_to_shape: shape {grad_shape} is not a broadcast of "
                         f"{tuple(shape)}; in a sweep, an op's gradient has the wrong shape")
    stretched = [lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1]
    return tuple(range(lead)) + tuple(stretched), not lead


def _arg_extreme(name, x, axis, output_type, forward_name):
    x = as_tensor(x)
    axis = 0 if axis is None else int(axis)  # TensorFlow's default axis is 0
    xp = backend.array_module(x._data)
    find = getattr(xp, forward_name)
    return run_cut(name, lambda a: find(a, axis=axis).astype(output_type), (x,))


def argmax(input, axis=None, output_type="int64", name=None):
    return _arg_extreme("argmax", input, axis, output_type, "argmax")


def argmin(input, axis=None, output_type="int64", name=None):
    return _arg_extreme("argmin", input, axis, output_type, "argmin")
