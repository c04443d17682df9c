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
    x_wins = greater_equal(x, y)
    return where(x_wins, grad, 0), where(x_wins, 0, grad)


def minimum(x, y, name=None):
    return binary("minimum", x, y, "minimum")


@register_gradient("minimum")
def _minimum_grad(op, grad):
    """grad goes to x where x <= y, else to y"""
    x, y = op.inputs
    x_wins = less_equal(x, y)
    return where(x_wins, grad, 0), where(x_wins, 0, grad)


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
    condition = op.attrs["condition"]
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


def _comparison(op_name, forward_name):
    def compare(x, y, name=None):
        x, y = as_pair(x, y, op_name)
        return run_cut(op_name, getattr(xp_of(x), forward_name), (x, y))

    compare.__name__ = compare.__qualname__ = op_name
    compare.__doc__ = f"Elementwise {forward_name}, a boolean tensor (no gradient)."
    return compare


less = _comparison("less", "less")
less_equal = _comparison("less_equal", "less_equal")
greater = _comparison("greater", "greater")
greater_equal = _comparison("greater_equal", "greater_equal")
equal = _comparison("equal", "equal")
not_equal = _comparison("not_equal", "not_equal")
logical_and = _comparison("logical_and", "logical_and")
logical_or = _comparison("logical_or", "logical_or")


def logical_not(x, name=None):
    x = as_tensor(x)
    return run_cut("logical_not", xp_of(x).logical_not, (x,))


def floor(x, name=None):
    x = as_tensor(x)
    return run_cut("floor", xp_of(x).floor, (x,))


def ceil(x, name=None):
    x = as_tensor(x)
    return run_cut("ceil", xp_of(x).ceil, (x,))


def round(x, name=None):
    x = as_tensor(x)
    return run_cut("round", xp_of(x).round, (x,))


def is_nan(x, name=None):
    x = as_tensor(x)
    return run_cut("is_nan", xp_of(x).isnan, (x,))


def is_finite(x, name=None):
    x = as_tensor(x)
    return run_cut("is_finite", xp_of(x).isfinite, (x,))
