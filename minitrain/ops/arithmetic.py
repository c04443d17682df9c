"""Arithmetic ops (numpy broadcasting), each with its gradient right under it."""
import operator

from .core import (
    as_pair,
    binary,
    register_gradient,
    run,
    run2,
    run_cut,
    unary,
    xp_of,
)
from .elementwise import floating, log
from .selection import cast, where


# the four arithmetic ops run the arrays' own operators: numpy and CuPy alike, with no lookup
# of the array module on the hottest path of every sweep
def add(x, y, name=None):
    x, y = as_pair(x, y, "add")
    return run2("add", operator.add, x, y)


@register_gradient("add")
def _add_grad(op, grad):
    """d(x + y) = (grad, grad)"""
    return grad, grad


def subtract(x, y, name=None):
    x, y = as_pair(x, y, "subtract")
    return run2("subtract", operator.sub, x, y)


@register_gradient("subtract")
def _subtract_grad(op, grad):
    """d(x - y) = (grad, -grad)"""
    return grad, -grad


def multiply(x, y, name=None):
    x, y = as_pair(x, y, "multiply")
    return run2("multiply", operator.mul, x, y)


@register_gradient("multiply")
def _multiply_grad(op, grad):
    """d(x * y) = (grad * y, grad * x)"""
    x, y = op.inputs
    need_x, need_y = op.needs_grad
    return (grad * y if need_x else None), (grad * x if need_y else None)


# TensorFlow's truediv: integers divide as floats, the narrow ones as float32
_TRUE_DIVISION = {"int8": "float32", "uint8": "float32", "int16": "float32",
                  "uint16": "float32", "int32": "float64", "uint32": "float64",
                  "int64": "float64", "uint64": "float64"}


def divide(x, y, name=None):
    x, y = as_pair(x, y, "divide")
    if x._data.dtype.kind in "iu":
        wide = _TRUE_DIVISION[x.dtype.name]
        x, y = cast(x, wide), cast(y, wide)
    return run2("divide", operator.truediv, x, y)


@register_gradient("divide")
def _divide_grad(op, grad):
    """d(x / y) = (grad / y, -grad * x / y**2)"""
    x, y = op.inputs
    need_x, need_y = op.needs_grad
    return (grad / y if need_x else None), ((-grad * x / y) / y if need_y else None)


def negative(x, name=None):
    return unary("negative", x)


@register_gradient("negative")
def _negative_grad(op, grad):
    return (-grad,)


def pow(x, y, name=None):
    return binary("pow", x, y, "power")


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
    return run_cut("floordiv", xp_of(x).floor_divide, (x, y))


floor_div = floordiv


def mod(x, y, name=None):
    return binary("mod", x, y, "mod")


floormod = mod


@register_gradient("mod")
def _mod_grad(op, grad):
    """x mod y = x - y * floor(x / y), so d = (grad, -grad * floor(x / y))"""
    x, y = op.inputs
    return grad, -grad * floordiv(x, y)


def square(x, name=None):
    return unary("square", x)


@register_gradient("square")
def _square_grad(op, grad):
    """grad * 2x"""
    (x,) = op.inputs
    return (grad * (2 * x),)


def sqrt(x, name=None):
    return unary("sqrt", floating(x, "sqrt"))


@register_gradient("sqrt")
def _sqrt_grad(op, grad):
    """grad / (2 sqrt(x))"""
    (y,) = op.outputs
    return (grad / (2 * y),)


def rsqrt(x, name=None):
    x = floating(x, "rsqrt")
    return run("rsqrt", lambda a: 1 / xp_of(x).sqrt(a), (x,))


@register_gradient("rsqrt")
def _rsqrt_grad(op, grad):
    """d x**-1/2 = -grad * y**3 / 2"""
    (y,) = op.outputs
    return (-0.5 * grad * y * y * y,)


def reciprocal(x, name=None):
    return unary("reciprocal", x)


@register_gradient("reciprocal")
def _reciprocal_grad(op, grad):
    """-grad * y**2"""
    (y,) = op.outputs
    return (-grad * y * y,)


def abs(x, name=None):
    return unary("abs", x, "absolute")


@register_gradient("abs")
def _abs_grad(op, grad):
    """grad * sign(x)"""
    (x,) = op.inputs
    return (grad * sign(x),)


def sign(x, name=None):
    return unary("sign", x)


@register_gradient("sign")
def _sign_grad(op, grad):
    """sign is flat almost everywhere: zero, as in TensorFlow"""
    return (grad * 0,)
