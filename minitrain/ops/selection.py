"""Comparisons, selection (maximum, minimum, where), casts and rounding: the ops whose
gradients route the upstream gradient, or stop it."""
from .. import backend
from ..tensor import as_dtype
from .core import as_pair, as_tensor, binary, register_gradient, run, run_cut, xp_of


def maximum(x, y, name=None):
    return binary("maximum", x, y, "maximum")


@register_gradient("maximum")
def _maximum_grad(op, grad):
    """grad goes to x where x >= y, else to y (ties to x, as in TensorFlow)"""
    x, y = op.inputs
    return _split(greater_equal(x, y), grad)


def minimum(x, y, name=None):
    return binary("minimum", x, y, "minimum")


@register_gradient("minimum")
def _minimum_grad(op, grad):
    """grad goes to x where x <= y, else to y"""
    x, y = op.inputs
    return _split(less_equal(x, y), grad)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return minimum(maximum(t, clip_value_min), clip_value_max)


def where(condition, x=None, y=None, name=None):
    """Elements of x where condition holds, else of y; with only a condition, its indices."""
    condition = as_tensor(condition)
    if x is None and y is None:
        xp = xp_of(condition)
        return run_cut("where", lambda c: xp.argwhere(c).astype("int64"), (condition,))
    x, y = as_pair(x, y, "where")
    xp = xp_of(x)
    c = condition._data
    try:
        return run("where", lambda a, b: xp.where(c, a, b), (x, y), {"condition": condition})
    except ValueError:  # run's message would name x's and y's shapes only
        raise ValueError(f"where: the condition of shape {condition.shape} and x and y of shapes "
                         f"{x.shape} and {y.shape} do not broadcast together") from None


@register_gradient("where")
def _where_grad(op, grad):
    """grad flows to x where the condition holds, to y elsewhere"""
    return _split(op.attrs["condition"], grad)


def _split(condition, grad):
    """grad where the condition holds (the first input's share), and where it does not"""
    return where(condition, grad, 0), where(condition, 0, grad)


def cast(x, dtype, name=None):
    x = as_tensor(x)
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if backend.is_floating(x.dtype) and backend.is_floating(dtype):
        return run("cast", lambda a: a.astype(dtype), (x,))
    return run_cut("cast", lambda a: a.astype(dtype), (x,),
                   f"cast from {x.dtype.name} to {dtype.name}: only floats carry gradients")


@register_gradient("cast")
def _cast_grad(op, grad):
    """the gradient, cast back to the input's dtype"""
    return (cast(grad, op.inputs[0].dtype),)


def _cut(op_name, operands, doc, forward_name=None):
    """A non-differentiable elementwise op: ``xp.<forward_name>`` of one or two tensors.

    Each is a cut, as in TensorFlow, which registers no gradient for them (or ``None``): a
    comparison's output is boolean, and floor, ceil and round are flat almost everywhere.
    """
    forward_name = forward_name or op_name
    if operands == 2:
        def op(x, y, name=None):
            x, y = as_pair(x, y, op_name)
            return run_cut(op_name, getattr(xp_of(x), forward_name), (x, y))
    else:
        def op(x, name=None):
            x = as_tensor(x)
            return run_cut(op_name, getattr(xp_of(x), forward_name), (x,))
    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = f"{doc}, elementwise (no gradient)."
    return op


less = _cut("less", 2, "x < y")
less_equal = _cut("less_equal", 2, "x <= y")
greater = _cut("greater", 2, "x > y")
greater_equal = _cut("greater_equal", 2, "x >= y")
equal = _cut("equal", 2, "x == y")
not_equal = _cut("not_equal", 2, "x != y")
logical_and = _cut("logical_and", 2, "x and y")
logical_or = _cut("logical_or", 2, "x or y")
logical_not = _cut("logical_not", 1, "not x")
floor = _cut("floor", 1, "The largest integer not above x")
ceil = _cut("ceil", 1, "The smallest integer not below x")
round = _cut("round", 1, "x rounded to the nearest integer, halves to even")
is_nan = _cut("is_nan", 1, "Whether x is NaN", "isnan")
is_finite = _cut("is_finite", 1, "Whether x is finite (not NaN, not infinite)", "isfinite")
