"""Elementwise ops (numpy broadcasting), each with its gradient right under it."""
import math

from .. import backend
from ..backend import array_module
from ..tensor import as_dtype
from .core import as_pair, as_tensor, register_gradient, run, run1, run2, run_cut
from .special import erf as _erf_array


def _xp(x):
    return array_module(x._data)


def _unary(name, x, forward_name=None):
    x = as_tensor(x)
    return run1(name, getattr(array_module(x._data), forward_name or name), x)


def _binary(name, x, y, forward_name):
    x, y = as_pair(x, y, name)
    return run2(name, getattr(array_module(x._data), forward_name), x, y)


# --- arithmetic ------------------------------------------------------------------------------
def add(x, y, name=None):
    return _binary("add", x, y, "add")


@register_gradient("add")
def _add_grad(op, grad):
    """d(x + y) = (grad, grad)"""
    return grad, grad


def subtract(x, y, name=None):
    return _binary("subtract", x, y, "subtract")


@register_gradient("subtract")
def _subtract_grad(op, grad):
    """d(x - y) = (grad, -grad)"""
    return grad, -grad


def multiply(x, y, name=None):
    return _binary("multiply", x, y, "multiply")


@register_gradient("multiply")
def _multiply_grad(op, grad):
    """d(x * y) = (grad * y, grad * x)"""
    x, y = op.inputs
    need_x, need_y = op.needs_grad
    return (grad * y if need_x else None), (grad * x if need_y else None)


def divide(x, y, name=None):
    return _binary("divide", x, y, "true_divide")


@register_gradient("divide")
def _divide_grad(op, grad):
    """d(x / y) = (grad / y, -grad * x / y**2)"""
    x, y = op.inputs
    need_x, need_y = op.needs_grad
    return (grad / y if need_x else None), ((-grad * x / y) / y if need_y else None)


def negative(x, name=None):
    return _unary("negative", x)


@register_gradient("negative")
def _negative_grad(op, grad):
    return (-grad,)


def pow(x, y, name=None):
    return _binary("pow", x, y, "power")


@register_gradient("pow")
def _pow_grad(op, grad):
    """d(x**y) = (grad * y * x**(y-1), grad * x**y * log(x)), log taken as 0 where x <= 0"""
    x, y = op.inputs
    (z,) = op.outputs
    need_x, need_y = op.needs_grad
    gx = grad * y * x ** (y - 1) if need_x else None
    if not need_y:
        return gx, None
    positive = x > 0
    # the inner where keeps log() finite, so second derivatives stay free of NaN
    log_x = where(positive, log(where(positive, x, 1)), 0)
    return gx, grad * z * log_x


def floordiv(x, y, name=None):
    x, y = as_pair(x, y, "floordiv")
    return run_cut("floordiv", _xp(x).floor_divide, (x, y))


floor_div = floordiv


def mod(x, y, name=None):
    return _binary("mod", x, y, "mod")


floormod = mod


@register_gradient("mod")
def _mod_grad(op, grad):
    """x mod y = x - y * floor(x / y), so d = (grad, -grad * floor(x / y))"""
    x, y = op.inputs
    return grad, -grad * floordiv(x, y)


def square(x, name=None):
    return _unary("square", x)


@register_gradient("square")
def _square_grad(op, grad):
    """grad * 2x"""
    (x,) = op.inputs
    return (grad * (2 * x),)


def sqrt(x, name=None):
    return _unary("sqrt", x)


@register_gradient("sqrt")
def _sqrt_grad(op, grad):
    """grad / (2 sqrt(x))"""
    (y,) = op.outputs
    return (grad / (2 * y),)


def rsqrt(x, name=None):
    x = as_tensor(x)
    return run("rsqrt", lambda a: 1 / _xp(x).sqrt(a), (x,))


@register_gradient("rsqrt")
def _rsqrt_grad(op, grad):
    """d x**-1/2 = -grad * y**3 / 2"""
    (y,) = op.outputs
    return (-0.5 * grad * y * y * y,)


def reciprocal(x, name=None):
    return _unary("reciprocal", x)


@register_gradient("reciprocal")
def _reciprocal_grad(op, grad):
    """-grad * y**2"""
    (y,) = op.outputs
    return (-grad * y * y,)


def abs(x, name=None):
    return _unary("abs", x, "absolute")


@register_gradient("abs")
def _abs_grad(op, grad):
    """grad * sign(x)"""
    (x,) = op.inputs
    return (grad * sign(x),)


def sign(x, name=None):
    return _unary("sign", x)


@register_gradient("sign")
def _sign_grad(op, grad):
    """sign is flat almost everywhere: zero, as in TensorFlow"""
    return (grad * 0,)


# --- transcendental --------------------------------------------------------------------------
def exp(x, name=None):
    return _unary("exp", x)


@register_gradient("exp")
def _exp_grad(op, grad):
    """grad * exp(x)"""
    (y,) = op.outputs
    return (grad * y,)


def expm1(x, name=None):
    return _unary("expm1", x)


@register_gradient("expm1")
def _expm1_grad(op, grad):
    """grad * exp(x)"""
    (y,) = op.outputs
    return (grad * (y + 1),)


def log(x, name=None):
    return _unary("log", x)


@register_gradient("log")
def _log_grad(op, grad):
    """grad / x"""
    (x,) = op.inputs
    return (grad / x,)


def log1p(x, name=None):
    return _unary("log1p", x)


@register_gradient("log1p")
def _log1p_grad(op, grad):
    """grad / (1 + x)"""
    (x,) = op.inputs
    return (grad / (1 + x),)


def sin(x, name=None):
    return _unary("sin", x)


@register_gradient("sin")
def _sin_grad(op, grad):
    """grad * cos(x)"""
    (x,) = op.inputs
    return (grad * cos(x),)


def cos(x, name=None):
    return _unary("cos", x)


@register_gradient("cos")
def _cos_grad(op, grad):
    """-grad * sin(x)"""
    (x,) = op.inputs
    return (-grad * sin(x),)


def tan(x, name=None):
    return _unary("tan", x)


@register_gradient("tan")
def _tan_grad(op, grad):
    """grad * (1 + tan(x)**2)"""
    (y,) = op.outputs
    return (grad * (1 + y * y),)


def tanh(x, name=None):
    return _unary("tanh", x)


@register_gradient("tanh")
def _tanh_grad(op, grad):
    """grad * (1 - y**2)"""
    return (tanh_grad(op.outputs[0], grad),)


def tanh_grad(y, dy):
    """dy * (1 - y**2) as one op (TensorFlow's TanhGrad): a first-order sweep runs one op."""
    return run2("tanh_grad", lambda y_, dy_: dy_ * (1 - y_ * y_), y, dy)


@register_gradient("tanh_grad")
def _tanh_grad_grad(op, grad):
    """d/dy = -2 grad dy y; d/ddy = grad (1 - y**2)"""
    y, dy = op.inputs
    return -2 * grad * dy * y, tanh_grad(y, grad)


def sigmoid(x, name=None):
    x = as_tensor(x)
    xp = _xp(x)
    # 1 / (1 + exp(-x)) overflows for very negative x; the tanh form never does
    return run1("sigmoid", lambda a: 0.5 * (xp.tanh(0.5 * a) + 1), x)


@register_gradient("sigmoid")
def _sigmoid_grad(op, grad):
    """grad * y * (1 - y)"""
    return (sigmoid_grad(op.outputs[0], grad),)


def sigmoid_grad(y, dy):
    """dy * y * (1 - y) as one op (TensorFlow's SigmoidGrad)."""
    return run2("sigmoid_grad", lambda y_, dy_: dy_ * y_ * (1 - y_), y, dy)


@register_gradient("sigmoid_grad")
def _sigmoid_grad_grad(op, grad):
    """d/dy = grad dy (1 - 2y); d/ddy = grad y (1 - y)"""
    y, dy = op.inputs
    return grad * dy * (1 - 2 * y), sigmoid_grad(y, grad)


def erf(x, name=None):
    x = as_tensor(x)
    return run("erf", _erf_array, (x,))


@register_gradient("erf")
def _erf_grad(op, grad):
    """grad * 2 / sqrt(pi) * exp(-x**2)"""
    (x,) = op.inputs
    return (grad * (2 / math.sqrt(math.pi)) * exp(-(x * x)),)


# --- selection -------------------------------------------------------------------------------
def maximum(x, y, name=None):
    return _binary("maximum", x, y, "maximum")


@register_gradient("maximum")
def _maximum_grad(op, grad):
    """grad goes to x where x >= y, else to y (ties to x, as in TensorFlow)"""
    x, y = op.inputs
    x_wins = greater_equal(x, y)
    return where(x_wins, grad, 0), where(x_wins, 0, grad)


def minimum(x, y, name=None):
    return _binary("minimum", x, y, "minimum")


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
        xp = _xp(condition)
        return run_cut("where", lambda c: xp.argwhere(c).astype("int64"), (condition,))
    x, y = as_pair(x, y, "where")
    xp = _xp(x)
    c = condition._data
    return run("where", lambda a, b: xp.where(c, a, b), (x, y), {"condition": condition})


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
        return run_cut(op_name, getattr(_xp(x), forward_name), (x, y))

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
    return run_cut("logical_not", _xp(x).logical_not, (x,))


def floor(x, name=None):
    x = as_tensor(x)
    return run_cut("floor", _xp(x).floor, (x,))


def ceil(x, name=None):
    x = as_tensor(x)
    return run_cut("ceil", _xp(x).ceil, (x,))


def round(x, name=None):
    x = as_tensor(x)
    return run_cut("round", _xp(x).round, (x,))


def is_nan(x, name=None):
    x = as_tensor(x)
    return run_cut("is_nan", _xp(x).isnan, (x,))


def is_finite(x, name=None):
    x = as_tensor(x)
    return run_cut("is_finite", _xp(x).isfinite, (x,))
